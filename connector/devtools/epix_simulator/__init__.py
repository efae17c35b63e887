"""An EPIX hub for the quick start and the tests (``cites-connector simulate-epix``)."""
