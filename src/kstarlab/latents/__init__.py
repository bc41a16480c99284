"""Latent spaces and the data they come from: the datasets (`datasets`, `digits`), the
naming of layers (`layers`), the input transforms bound to a dataset (`transforms`), and the
extraction of latents to HDF5 (`extraction`; the file schema is read by `kstarlab.io`).
"""
