"""The engine: starts the executors, runs the passes and the interleaved rounds."""
