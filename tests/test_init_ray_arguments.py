"""Ray's init() arguments without an actorium parameter: carried out, or refused with a
message that names them; never accepted and ignored."""

from __future__ import annotations

import logging

import pytest

import actorium
from actorium import _ray_init_options as ray_init_options


@pytest.mark.parametrize(("name", "value"), [
    ("local_mode", True), ("_temp_dir", "/tmp/elsewhere"), ("_system_config", {"x": 1}),
    ("job_config", object()), ("_plasma_directory", "/tmp/plasma"),
    ("storage", "/tmp/storage"), ("labels", {"zone": "a"}), ("_node_ip_address", "10.0.0.1"),
    ("_redis_password", "secret"), ("_enable_object_reconstruction", True),
])
def test_a_ray_argument_actorium_cannot_honour_is_refused_by_name(name, value):
    with pytest.raises(ValueError, match=f"init\\({name}=.*not supported by actorium"):
        actorium.init(**{name: value})


def test_an_unknown_argument_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="unexpected keyword argument.*no_such_option"):
        actorium.init(no_such_option=1)


def test_ray_arguments_at_their_defaults_start_the_runtime(start_runtime):
    start_runtime(num_cpus=1, local_mode=False, _temp_dir=None, job_config=None,
                  _enable_object_reconstruction=False)
    assert actorium.is_initialized()


def test_logging_level_and_format_configure_the_actorium_logger(start_runtime, capsys):
    logger = logging.getLogger("actorium")
    previous = logger.level
    try:
        start_runtime(num_cpus=1, logging_level="warning",
                      logging_format="AT %(levelname)s %(message)s")
        assert logger.level == logging.WARNING
        logging.getLogger("actorium.probe").warning("hello from the probe")
        logging.getLogger("actorium.probe").info("not shown at warning level")
        err = capsys.readouterr().err
        assert "AT WARNING hello from the probe" in err
        assert "not shown" not in err
    finally:
        logger.setLevel(previous)
        if ray_init_options._handler is not None:
            logger.removeHandler(ray_init_options._handler)
            ray_init_options._handler = None


def test_a_bad_logging_level_is_refused():
    with pytest.raises(ValueError, match="logging_level='loud'"):
        actorium.init(logging_level="loud")
