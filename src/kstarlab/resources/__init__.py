"""Small data files shipped with kstarlab (class maps)."""
