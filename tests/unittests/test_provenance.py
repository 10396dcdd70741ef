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
    line = provenance.runs_line([run])
    assert line.startswith(f"Runs: 1 (lightning_ecopt {run['lightning_ecopt']}; ax ")
    assert f"host {run['hostname']}; seed none (Sobol seed 91604)). Trials before #3 ran before runs were" in line
    assert "launcher" not in line  # from Python: evaluate() runs the trials
    assert "differ" not in line
