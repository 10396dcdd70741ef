from lightning_ecopt import provenance


def test_gpu_names_are_read_from_the_nvidia_drivers_proc_files(tmp_path):
    for bus, model in (("0000:1b:00.0", "NVIDIA H100 80GB HBM3"), ("0000:04:00.0", "NVIDIA A100-SXM4-40GB")):
        (tmp_path / bus).mkdir()
        (tmp_path / bus / "information").write_text(f"Model: \t\t {model}\nIRQ:   \t\t 42\nBus Type: \t PCIe\n")
    (tmp_path / "0000:ff:00.0").mkdir()  # no information file: skipped
    assert provenance.gpu_names(tmp_path) == ["NVIDIA A100-SXM4-40GB", "NVIDIA H100 80GB HBM3"]  # bus order
    assert provenance.gpu_names(tmp_path / "absent") == []


def test_the_runs_line_names_an_unseeded_sweeps_sobol_seed_and_trials_run_before_records():
    run = provenance.run_record(seed=None, sobol_seed=91604, trials=[3, 5], finished=3)
    line = provenance.runs_line([{"unrecorded": True, "trials": [0, 2]}, run])
    assert line.startswith(f"Runs: 1 (lightning_ecopt {run['lightning_ecopt']}; ax ")
    assert f"host {run['hostname']}; seed none (Sobol seed 91604)). Trials #0-#2 ran before runs were recorded." in line
    assert "launcher" not in line  # from Python: evaluate() runs the trials
    assert "differ" not in line


def test_the_runs_line_names_the_launcher_of_trials_run_before_records_where_known():
    """A sweep saved before runs were recorded, resumed under joblib: the report named joblib alone."""
    basic = {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}
    joblib = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}
    run = provenance.run_record(launcher=joblib, seed=0, sobol_seed=0, trials=[3, 5], finished=3)
    line = provenance.runs_line([{"unrecorded": True, "trials": [0, 2], "launcher": basic}, run])
    assert "launcher BasicLauncher -> JoblibLauncher (n_jobs=2); seed 0)." in line
    assert "Trials #0-#2 ran before runs were recorded (under BasicLauncher). The runs differ in launcher: " in line
    same = provenance.runs_line([{"unrecorded": True, "trials": [0, 2], "launcher": joblib}, run])
    assert "launcher JoblibLauncher (n_jobs=2); seed 0). Trials #0-#2 ran before runs were recorded (under " in same
    assert "differ" not in same


def test_a_first_recorded_run_after_trials_of_this_version_claims_no_earlier_version():
    """Diff review: a first trial abandoned by Ctrl-C (its run finished nothing, so recorded nothing) was said to
    have "run before runs were recorded"; and an empty record, "written before lightning_ecopt recorded its runs"."""
    run = provenance.run_record(seed=0, sobol_seed=0, trials=[1, 5], finished=5)
    assert "before" not in provenance.runs_line([run])
    assert "or no run of this sweep has finished a trial yet" in provenance.runs_line([])


def test_the_runs_line_names_what_changed_and_judges_the_machine_by_what_computes():
    """Diff review: "differ in versions" named none (a python or lightning upgrade, which the line does not show),
    and a new container's hostname alone was "another host", its energy figures "not comparable"."""
    run = provenance.run_record(seed=0, sobol_seed=0, trials=[0, 4], finished=5)
    upgraded = {**run, "python": "3.99.0", "versions": {**run["versions"], "lightning": "9.9.9"}}
    line = provenance.runs_line([run, upgraded])
    assert f"The runs differ in versions (python {run['python']} -> 3.99.0, lightning " in line
    assert "not comparable" not in line
    line = provenance.runs_line([run, {**run, "hostname": "3f2a9c1d7e4b"}])
    assert f"host {run['hostname']} -> 3f2a9c1d7e4b" in line
    assert "differ" not in line
    line = provenance.runs_line([run, {**run, "gpus": ["NVIDIA H100 80GB HBM3"]}])
    assert "differ in machine (" in line
    assert (
        "+ NVIDIA H100 80GB HBM3): energy figures measured on other machines or under other launchers are not" in line
    )


def test_the_cpu_is_named_by_cpuinfos_model_name_else_by_the_platform(monkeypatch):
    """The record's ``cpu`` tells two runs' machines apart: /proc/cpuinfo's first ``model name``; where it has none (an
    ARM kernel's lists ``processor``, ``BogoMIPS``, ``Features``), the platform's processor or architecture, never the
    value of another line and never empty."""
    monkeypatch.setattr(provenance.platform, "processor", lambda: "")  # as Linux gives it
    monkeypatch.setattr(provenance.platform, "machine", lambda: "aarch64")
    two_cores = (
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu avx2 fma amx_bf16\n\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu avx2 fma amx_bf16\n"
    )
    assert provenance.cpu_identity(two_cores)["cpu"] == "Intel(R) Xeon(R) Platinum 8480+"
    arm = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n"
    assert provenance.cpu_identity(arm) == {"cpu": "aarch64", "cpu_simd": [], "kernel": provenance.platform.release()}
    assert provenance.cpu_identity("")["cpu"] == "aarch64"  # no /proc/cpuinfo (macOS, Windows)
    monkeypatch.setattr(provenance.platform, "processor", lambda: "arm")
    assert provenance.cpu_identity(arm)["cpu"] == "arm"


def test_a_record_with_fields_of_another_type_is_shown_not_raised():
    """Mutation round 11b: a results file whose run records carry a field of another type (a hand edit, another
    writer) made ``ecopt report`` end in a traceback (``'str' object has no attribute 'get'``), bad input the report
    neither refused nor showed; the line shows what it can, as it does for a missing field."""
    run = provenance.run_record(seed=0, sobol_seed=0, trials=[0, 4], finished=5)
    garbled = {**run, "versions": "ax 1.3.1", "gpus": [None, "NVIDIA L4"], "seed": [0], "sobol_seed": {"a": 1}}
    line = provenance.runs_line([run, garbled])
    assert line.startswith(
        f"Runs: 2 (lightning_ecopt {run['lightning_ecopt']}; ax {run['versions']['ax-platform']} -> ?"
    )
    assert "seed 0 -> [0] (Sobol seed 0 -> {'a': 1})). The runs differ in versions (" in line
    assert f"and machine ({run['cpu']} -> {run['cpu']} + None, NVIDIA L4): energy figures" in line
    one_gpu = provenance.runs_line([run, {**run, "gpus": "NVIDIA L4"}])  # a name, not a list of them
    assert f"machine ({run['cpu']} -> {run['cpu']} + NVIDIA L4)" in one_gpu
