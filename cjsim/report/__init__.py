"""Figures and self-contained HTML reports of simulations, attributions and experiments."""
