"""gradcomp: compressors, compressed optimisation methods and the pipeline that
reproduces the figures and tables of papers on communication compression."""

__version__ = "0.1.0"
