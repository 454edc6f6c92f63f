"""Practice checks, one module per lesson: what students get (in the kit) and run for instant
feedback. They hold no solution code and no reference implementation of any exercise: only
properties, worked examples, stored example outputs (``examples/``) and the library functions a
lesson itself names as the reference."""
