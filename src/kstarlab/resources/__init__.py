"""Small data files shipped with kstarlab (class maps); importing this imports nothing heavy."""

# Class maps a config or the CLI may name instead of a file: name -> file in this package.
BUILTIN_CLASS_MAPS = {"imagenet16": "imagenet16_class_map.json"}
