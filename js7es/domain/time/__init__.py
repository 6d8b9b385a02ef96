"""Time computations of JS7's engine, purely (no clock): admission time schemes."""
