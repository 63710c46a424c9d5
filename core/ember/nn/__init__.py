"""Neural-network layers, losses and functional ops (see issue 5)."""
