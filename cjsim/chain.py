"""Moved to :mod:`cjsim.model.compiled`; this name stays until the engines import it
from there (issue 17, step in progress)."""

from cjsim.model.compiled import CompiledModel, compile_model, lifted_moves, lifted_row

__all__ = ["CompiledModel", "compile_model", "lifted_moves", "lifted_row"]
