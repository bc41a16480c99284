"""The explorer's documented limits (torch-free and light: the command line reads them)."""

#: Per view, at most this many samples are drawn: beyond, a class-stratified seeded sample.
MAX_POINTS = 5000
#: Per class of a k* cell, the samples with the lowest k* listed (each beside its nearest
#: sample of another class).
LOWEST_SHOWN = 6
#: Images of the k* lists (a sample and its nearest other-class sample each) per cell: with
#: many classes, each class lists fewer samples so that the page stays light.
MAX_LIST_IMAGES = 4000


def lowest_shown(n_classes: int) -> int:
    """Samples listed per class of a k* cell: `LOWEST_SHOWN`, fewer for many classes."""
    return max(1, min(LOWEST_SHOWN, MAX_LIST_IMAGES // (2 * max(n_classes, 1))))
