"""Ray's experimental helpers under their Ray names: ``experimental.tqdm_ray``."""
