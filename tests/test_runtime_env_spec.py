"""RuntimeEnv: Ray's fields checked where they are written, merging, packages by content."""

from __future__ import annotations

import io
import os
import pickle
import zipfile

import pytest

import actorium
from actorium._runtime_env import packaging
from actorium._runtime_env.spec import env_hash, merge
from actorium.exceptions import RuntimeEnvSetupError
from actorium.runtime_env import RuntimeEnv, RuntimeEnvConfig


# ---------------------------------------------------------------------- validation
def test_runtime_env_is_a_dict_with_rays_fields_normalised(tmp_path):
    env = RuntimeEnv(env_vars={"A": "1"}, working_dir=str(tmp_path), pip=["requests", "requests"],
                     config={"setup_timeout_seconds": 30})
    assert env["env_vars"] == {"A": "1"}
    assert env["working_dir"] == str(tmp_path)
    assert env["pip"] == {"packages": ["requests"], "pip_check": False}
    assert env["config"]["setup_timeout_seconds"] == 30
    assert env.env_vars() == {"A": "1"} and env.pip_config()["packages"] == ["requests"]


def test_a_requirements_file_is_read_where_it_is_given(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nsix==1.16.0\n\n--no-index\n")
    env = RuntimeEnv(uv=str(requirements))
    assert env["uv"]["packages"] == ["six==1.16.0", "--no-index"]


@pytest.mark.parametrize(("given", "message"), [
    ({"env_vars": {"A": 1}}, "env_vars"),
    ({"env_vars": ["A"]}, "env_vars"),
    ({"working_dir": "/no/such/dir"}, "not an existing directory"),
    ({"working_dir": "s3://bucket/x.zip"}, "only local paths"),
    ({"py_modules": "/tmp"}, "must be a list"),
    ({"py_modules": ["/no/such/module"]}, "not an existing"),
    ({"pip": ["a"], "uv": ["b"]}, "not both"),
    ({"pip": {"packages": ["a"], "pip_chek": True}}, "can only have the fields"),
    ({"pip": 3}, "list of requirements"),
    ({"pip": "/no/such/requirements.txt"}, "cannot read the requirements file"),
    ({"conda": {"dependencies": []}}, "conda environments are not supported"),
    ({"image_uri": "x"}, "not supported"),
    ({"envvars": {}}, "unknown runtime_env field 'envvars'"),
    ({"config": {"setup_timeout_seconds": 0}}, "setup_timeout_seconds"),
    ({"config": {"eager": True}}, "unknown runtime_env config field"),
])
def test_a_wrong_runtime_env_fails_where_it_is_written(given, message):
    with pytest.raises((ValueError, TypeError), match=message):
        actorium.remote(runtime_env=given)(lambda: None)


def test_options_and_init_check_runtime_env_too(no_runtime):
    @actorium.remote
    def f():
        return 1

    with pytest.raises(TypeError, match="runtime_env must be a dict"):
        f.options(runtime_env="pip")
    with pytest.raises(ValueError, match="unknown runtime_env field"):
        actorium.init(runtime_env={"nope": 1})
    assert not actorium.is_initialized()


def test_an_empty_runtime_env_means_the_default_environment():
    assert actorium.remote(runtime_env={})(lambda: None)._options.runtime_env is None
    assert actorium.remote(runtime_env={"env_vars": {}, "pip": []})(
        lambda: None)._options.runtime_env is None


def test_runtime_env_config_checks_its_values():
    assert RuntimeEnvConfig()["setup_timeout_seconds"] == 600
    assert RuntimeEnvConfig(setup_timeout_seconds=-1)["setup_timeout_seconds"] == -1
    with pytest.raises(TypeError):
        RuntimeEnvConfig(eager_install="yes")


# ---------------------------------------------------------------------- inheritance
def test_a_child_inherits_fields_and_merges_env_vars_as_ray_does():
    parent = {"env_vars": {"A": "p", "B": "p"}, "pip": {"packages": ["x"]}}
    child = {"env_vars": {"B": "c"}, "working_dir": "pkg://" + "0" * 32 + ".zip"}
    assert merge(parent, child) == {"env_vars": {"A": "p", "B": "c"},
                                    "pip": {"packages": ["x"]},
                                    "working_dir": "pkg://" + "0" * 32 + ".zip"}
    assert merge(parent, {"pip": {"packages": ["y"]}})["pip"] == {"packages": ["y"]}
    assert merge(None, child) == child and merge(parent, None) == parent


def test_config_is_not_part_of_an_environments_identity():
    base = {"env_vars": {"A": "1"}}
    assert env_hash(base) == env_hash({**base, "config": {"setup_timeout_seconds": 5}})
    assert env_hash(base) != env_hash({"env_vars": {"A": "2"}})


# ---------------------------------------------------------------------- packages
def _tree(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_directory_packages_to_the_same_name_whoever_zips_it_and_when(tmp_path):
    for copy in ("a", "b"):
        _tree(tmp_path / copy, {"main.py": "x = 1\n", "lib/util.py": "y = 2\n"})
    os.utime(tmp_path / "b" / "main.py", (1, 1))
    uri_a, data_a = packaging.package(str(tmp_path / "a"), [], as_module=False)
    uri_b, data_b = packaging.package(str(tmp_path / "b"), [], as_module=False)
    assert uri_a == uri_b and data_a == data_b
    (tmp_path / "b" / "main.py").write_text("x = 3\n")
    assert packaging.package(str(tmp_path / "b"), [], as_module=False)[0] != uri_a


def test_excludes_and_gitignore_leave_files_out(tmp_path):
    _tree(tmp_path, {"keep.py": "", "data/big.bin": "x", "logs/a.log": "", "sub/x.log": "",
                     "sub/keep.txt": "", ".gitignore": "*.log\n!important.log\n",
                     "important.log": "", "__pycache__/m.pyc": "", ".git/HEAD": ""})
    _uri, data = packaging.package(str(tmp_path), ["data/", "/sub/keep.txt"], as_module=False)
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == {"keep.py", ".gitignore", "important.log"}


def test_a_module_directory_keeps_its_name_so_it_can_be_imported(tmp_path):
    _tree(tmp_path, {"mymod/__init__.py": "NAME = 'mymod'\n"})
    _uri, data = packaging.package(str(tmp_path / "mymod"), [], as_module=True)
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["mymod/__init__.py"]


def test_a_zip_with_one_top_directory_is_unwrapped_for_a_working_dir(tmp_path):
    archive = tmp_path / "project.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("project/", "")
        out.writestr("project/main.py", "x = 1\n")
    _uri, data = packaging.package(str(archive), [], as_module=False)
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["main.py"]


def test_extraction_refuses_entries_outside_the_target(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        out.writestr("../escaped.py", "boom")
    with pytest.raises(ValueError, match="outside its root"):
        packaging.extract(buffer.getvalue(), str(tmp_path / "target"))
    assert not (tmp_path / "escaped.py").exists()


def test_a_package_store_keeps_only_what_the_name_promises(tmp_path):
    store = packaging.PackageStore(str(tmp_path))
    data = b"PK\x05\x06" + b"\0" * 18
    uri = packaging.uri_of(data)
    store.write(uri, data)
    assert store.has(uri) and store.read(uri) == data
    with pytest.raises(ValueError, match="do not match"):
        store.write(packaging.uri_of(b"other"), data)
    with pytest.raises(ValueError, match="not a package URI"):
        store.has("pkg://../../etc/passwd.zip")


def test_a_package_larger_than_the_limit_names_its_biggest_files(tmp_path, monkeypatch):
    monkeypatch.setattr(packaging, "MAX_PACKAGE_BYTES", 1000)
    (tmp_path / "blob.bin").write_bytes(os.urandom(5000))
    with pytest.raises(ValueError, match=r"blob\.bin"):
        packaging.package(str(tmp_path), [], as_module=False)


def test_runtime_env_setup_error_pickles_with_its_message():
    error = RuntimeEnvSetupError("Failed to set up runtime environment.\npip said no")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RuntimeEnvSetupError and str(copy) == str(error)
