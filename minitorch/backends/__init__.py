"""Device backends.  ``base.Backend`` is the contract; ``cpu`` implements it with NumPy."""
