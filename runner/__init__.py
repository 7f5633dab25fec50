"""Running a benchmark: the k6 process, one target x suite at a time, and the output folder."""
