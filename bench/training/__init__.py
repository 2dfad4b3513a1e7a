"""Training and evaluation of cells: the one loop, the cell runner and the executors."""
