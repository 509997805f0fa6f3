"""The breakages bench/audit/mutants.py applies: each an exact piece of a source file and the bug
that replaces it, with the room of tests that should notice. Texts are matched exactly (and
must occur once), so a refactoring that moves one makes the audit stop and say which."""
from __future__ import annotations

# The tests each room runs: the affected files only (the machine is shared).
ROOMS = {
    "run": ["tests/test_evaluate.py", "tests/test_weighted_styles.py", "tests/test_channels.py",
            "tests/test_presets.py", "tests/test_output.py", "tests/test_plot.py::test_plot",
            "tests/test_plot.py::test_plot_without_matplotlib", "tests/test_checkpoint.py",
            "tests/test_texture_quality.py", "tests/test_cpu_blas.py", "tests/test_signals.py"],
    "batch": ["tests/test_batch.py", "-k", "not dask and not chromium"],
    # This round's new behaviour (issue 21's third part).
    "loudness": ["tests/test_loudness.py"],
    "dictionary": ["tests/test_dictionary.py", "tests/test_separate_config.py",
                   "tests/test_separate.py::test_separate_cli"],
    "fastfood": ["tests/test_fastfood.py"],
    # Issue 33: what a new user met (audio out, evaluate, pages, the CLI), the three
    # breakages, and issue 20's presets, band spectrum term and memory estimate.
    "output": ["tests/test_audio.py",
               "tests/test_cli.py::test_bad_input_exits_2_with_one_line",
               "tests/test_cli.py::test_a_mistyped_option_gets_a_suggestion",
               "tests/test_cli.py::test_an_end_past_the_file_is_said_not_clamped_silently",
               "tests/test_cli.py::test_output_at_the_inputs_rate_or_the_one_asked",
               "tests/test_cli.py::test_separate_and_reconstruct_write_at_the_inputs_rate",
               "tests/test_cli.py::test_a_first_run_says_it_compiles_the_cpu_kernels",
               "tests/test_cli.py::test_kernels_cached_reads_numbas_cache_of_this_source",
               "tests/test_evaluate.py::test_evaluate_cli_prints_json_and_one_line",
               "tests/test_evaluate.py::test_evaluate_cli_bad_input_is_one_line_exit_2",
               "tests/test_evaluate.py::test_evaluate_content_takes_the_stretch_the_run_used",
               "tests/test_evaluate.py::test_evaluate_of_the_written_output_is_the_report_figure"],
    "page": ["tests/test_page.py",
             "tests/test_batch.py::test_page_names_its_files_and_labels_its_figures"],
    "issue33": ["tests/test_masks.py::test_hpss_reference_gives_its_parts_the_best_way_round",
                "tests/test_masks.py::test_cli_reference_reports_sdr_per_source",
                "tests/test_evaluate.py::test_a_runs_measure_weighs_several_styles_as_the_run_does",
                "tests/test_evaluate.py::test_style_distance_of_a_weighted_mix_of_styles",
                "tests/test_loudness.py",
                "tests/test_batch.py::test_resume_skips_finished_rows_and_redoes_failed_ones",
                "tests/test_batch.py::test_a_finished_row_whose_result_was_deleted_runs_again"],
    "issue20": ["tests/test_spectrum.py", "tests/test_presets.py::test_presets_and_overrides",
                "tests/test_presets.py::test_the_percussive_preset_is_a_transfers_only",
                "tests/test_memory_estimate.py", "tests/test_reconstruct_quality.py",
                "tests/test_channels_each.py"],
}

OPT, MODES, QUALITY = "engine/run/optimize.py", "engine/run/modes.py", "engine/run/quality.py"
STYLE, CKPT, INTR = "engine/cli/style.py", "engine/run/checkpoint.py", "engine/run/interrupt.py"
SESSION = "engine/run/session.py"
RUNNER, MANIFEST, BATCH = "engine/batch/runner.py", "engine/cli/manifest.py", \
    "engine/cli/batch.py"
LOUD, TOOLS, CONFIG = "engine/loudness.py", "engine/cli/tools.py", "engine/config.py"
DICT, SEPD = "engine/model/dictionary.py", "engine/run/separate_dictionary.py"
FF, NET = "engine/model/fastfood.py", "engine/model/network.py"
AUDIO, COMMON, EVAL, PAGE = "engine/audio.py", "engine/cli/common.py", "engine/cli/evaluate.py", \
    "engine/report/page.py"
SPEC, MEM, PRESETS = "engine/model/spectrum.py", "engine/model/memory.py", "engine/presets.py"


def _m(id_: str, room: str, file: str, what: str, old: str, new: str) -> dict:
    return {"id": id_, "room": room, "file": file, "what": what, "old": old, "new": new}


MUTANTS = [
    # The two survivors issue 21 names.
    _m("M1", "run", MODES, "measure stop returns the last iterate, not the best measured",
       'res.x, returned = monitor.best["x"], monitor.best["iter"]', "pass"),
    _m("M2", "run", "kernels/cpu_blas.py", "SciPy's BLAS left at one thread after a product",
       "            if n != 1:\n                lc.set_num_threads(n)\n",
       "            pass\n"),
    # Resuming.
    _m("R1", "run", OPT, "resumed run's nit leaves out the iterations before the checkpoint",
       "result.nit, result.nfev = done + int(res.nit)", "result.nit, result.nfev = int(res.nit)"),
    _m("R2", "run", OPT, "resumed run gets one iteration more than --maxiter allows",
       'options={"maxiter": maxiter - done,', 'options={"maxiter": maxiter - done + 1,'),
    _m("R3", "run", OPT, "resumed run's earlier iterations not counted against --maxiter",
       "done = len(result.history)\n", "done = 0\n"),
    _m("R4", "run", MODES, "report's resumed_at_iteration off by one",
       'None if resume is None else len(resume["history"]),',
       'None if resume is None else len(resume["history"]) + 1,'),
    _m("R5", "run", MODES, "resume restarts from the seeded start, not the checkpoint's signal",
       'x0 = np.asarray(resume["x"], dtype=np.float64)', "x0 = np.asarray(x0, dtype=np.float64)"),
    _m("R6", "run", SESSION, "a resumed run may change options its checkpoint fixed",
       "changed = sorted(explicit - RESUMABLE)", "changed = []"),
    _m("R7", "run", SESSION, "resumed run refuses to replace its own (interrupted) outputs",
       "restored.overwrite = True", "restored.overwrite = restored.overwrite"),
    # Checkpoints.
    _m("C1", "run", SESSION, "checkpoint not removed when the run finishes",
       "Path(session.checkpoint).unlink(missing_ok=True)", "pass"),
    _m("C2", "run", SESSION, "checkpoint removed although the run was interrupted",
       'if session.checkpoint is not None and not report["interrupted"]:',
       "if session.checkpoint is not None:"),
    _m("C3", "run", OPT, "periodic checkpoint one iteration early (1, 3, 5 for every 2)",
       "len(history) % self.checkpoint_every == 0:",
       "len(history) % self.checkpoint_every == 1:"),
    _m("C4", "run", CKPT, "a checkpoint of another format is accepted",
       'if state.get("format") != FORMAT:', "if False:"),
    _m("C5", "run", CKPT, "checkpoint's finished channels not restored",
       '"parts_done": [z[f"part{i}"] for i in range(meta["n_done"])]', '"parts_done": []'),
    _m("C6", "run", SESSION,
       "no checkpoint of the interrupted iterate (the last periodic one stays)",
       '                save(signal, report["iterations"])\n', "                pass\n"),
    # Stopping rules.
    _m("S1", "run", OPT, "plateau window one iteration short",
       'then, now = history[-1 - patience]["total"]', 'then, now = history[-patience]["total"]'),
    _m("S2", "run", OPT, "stop reason lost (SciPy's message reported instead)",
       "result.message = watch.stop or (", "result.message = ("),
    _m("S3", "run", QUALITY, "measure patience waits one measurement more",
       'len(self.history) - self.mark["index"] >= self.patience',
       'len(self.history) - self.mark["index"] > self.patience'),
    _m("S4", "run", OPT, "measure every --eval-every iterations, offset by one",
       'entry["iter"] % self.monitor_every:', '(entry["iter"] - 1) % self.monitor_every:'),
    _m("S5", "run", OPT, "interrupted run returns the last point, not the best",
       'result.x, result.interrupted = watch.best["x"], True',
       'result.x, result.interrupted = watch.last["x"], True'),
    _m("S6", "run", OPT, "interrupted flag not set",
       'result.x, result.interrupted = watch.best["x"], True',
       'result.x, result.interrupted = watch.best["x"], False'),
    _m("S7", "run", INTR, "exit status 130 whatever the signal",
       "return 128 + int(signum_of(exc))", "return 130"),
    _m("S8", "run", INTR, "a second signal interrupts the stopping run again",
       "if len(_received) == 1 and not _writing:", "if not _writing:"),
    _m("S9", "run", INTR, "a wrapped SIGTERM reported as SIGINT",
       "return _received[0] if _received else signal.SIGINT", "return signal.SIGINT"),
    _m("S10", "run", OPT, "the monitor's time counted in the optimization time",
       "result.wall_time_s = time.perf_counter() - watch.start - result.monitor_time_s",
       "result.wall_time_s = time.perf_counter() - watch.start"),
    # Reports.
    _m("P1", "run", OPT, "report's final_loss is the initial loss",
       '"final_loss": res.history[-1] if res.history else res.initial',
       '"final_loss": res.initial'),
    _m("P2", "run", SESSION, "report's interrupted flag always false",
       '"interrupted": interrupted}', '"interrupted": False}'),
    _m("P3", "run", MODES, "report's returned_iteration is nit after a measure stop",
       "returned_iteration=returned,", "returned_iteration=res.nit,"),
    _m("P4", "run", STYLE, "report's output field is the checkpoint's path",
       '"output": wav}', '"output": ckpt}'),
    # Batch.
    _m("B1", "batch", RUNNER, "a finished row is skipped although its options changed",
       'if differs is None:\n        return "skip", ""', 'if True:\n        return "skip", ""'),
    _m("B2", "batch", RUNNER, "--overwrite ignored for a row whose options changed",
       "    if overwrite:\n        return \"redo\", f\"--",
       "    if False:\n        return \"redo\", f\"--"),
    _m("B3", "batch", RUNNER, "a redone row not given --overwrite (its command refuses)",
       '**({"overwrite": True} if how == "redo" else {})}', "}"),
    _m("B4", "batch", RUNNER, "a row's error swallowed (reported done)",
       '"interrupted" if rc == 130 else "failed"', '"interrupted" if rc == 130 else "done"'),
    _m("B5", "batch", BATCH, "batch exits 0 although a row failed",
       'return 1 if counts["failed"] else 0', "return 0"),
    _m("B6", "batch", RUNNER, "an interrupted row resumed although its options changed",
       "_differs(job, report, RESUME_MAY_CHANGE) is None:", "True:"),
    _m("B7", "batch", RUNNER, "a resumed row keeps its checkpoint's --maxiter, not the row's",
       'given = {"resume": ckpt, "maxiter": job.expected["maxiter"], **tail}',
       'given = {"resume": ckpt, **tail}'),
    _m("B8", "batch", MANIFEST, "a row's output may climb out of OUTDIR with ..",
       'if p.is_absolute() or ".." in p.parts:', "if p.is_absolute():"),
    _m("B9", "batch", MANIFEST, "two rows may write the same output",
       "if key in taken:", "if False:"),
    _m("B10", "batch", BATCH, "the page's result clip points at the row's name, not OUTDIR's file",
       'clips.append(page.Clip("result", results[0], result=True))',
       'clips.append(page.Clip("result", job.output, result=True))'),
    _m("B11", "batch", BATCH, "a stopped batch exits 130 whatever the signal",
       "return 128 + int(stopper.signum or signal.SIGINT)", "return 130"),
    _m("B12", "batch", RUNNER, "incomplete outputs with --overwrite run without --overwrite",
       'return "redo", "incomplete"', 'return "run", ""'),
    # Loudness targets (engine/loudness.py and the commands that write audio).
    _m("L1", "loudness", LOUD, "the true-peak ceiling checked on the sources' sum, not each "
       "source", "peak = max(true_peak(s) for s in signals)", "peak = true_peak(total)"),
    _m("L2", "loudness", LOUD, "true peak read off the samples only (no oversampling)",
       "return float(max(np.max(np.abs(up)), np.max(np.abs(y))))",
       "return float(np.max(np.abs(y)))"),
    _m("L3", "loudness", LOUD, "the loudness before measured on the first signal, not the sum",
       "before = integrated(total, sr)", "before = integrated(signals[0], sr)"),
    _m("L4", "loudness", LOUD, "report's input loudness is the result's, not the reference's",
       '"input_lufs": reference, "before_lufs": before}',
       '"input_lufs": before, "before_lufs": before}'),
    _m("L5", "loudness", LOUD, "report's output loudness measured before the gain",
       "total = np.sum([_channels_last(s) for s in out], axis=0)",
       "total = np.sum([_channels_last(s) for s in signals], axis=0)"),
    _m("L6", "loudness", LOUD, "report's output true peak measured before the gain",
       "output_true_peak_dbtp=db(max(true_peak(s) for s in out)))",
       "output_true_peak_dbtp=db(max(true_peak(s) for s in signals)))"),
    _m("L7", "loudness", LOUD, "match with a silent reference (no loudness) fails",
       "elif target is None or before is None:", "elif before is None:"),
    _m("L8", "loudness", LOUD, "a target of 0 LUFS or above accepted",
       "if not GATE_LUFS < target < 0:", "if not GATE_LUFS < target:"),
    _m("L9", "loudness", LOUD, "several styles: the first one's loudness, not their "
       "weight-averaged power", "return 10 * math.log10(sum(w * 10 ** (v / 10) for v, w in "
       "heard) / total)", "return heard[0][0]"),
    _m("L10", "loudness", TOOLS, "separate under match takes the examples' loudness, not the "
       "mix's", "loudness.reference_loudness([mix], args.sr))",
       "loudness.reference_loudness(list(examples.values()), args.sr))"),
    # separate --method dictionary.
    _m("D1", "dictionary", SEPD, "the masks' denominator only the last source's model (the "
       "sources no longer sum to the mix)", "total = P if total is None else total + P",
       "total = P"),
    _m("D2", "dictionary", SEPD, "--mask-power left out of the masks' numerators",
       "Y = b.wiener_apply(b.nmf_model_power(a, d, cfg.mask_power), total, X)",
       "Y = b.wiener_apply(b.nmf_model_power(a, d, 1.0), total, X)"),
    _m("D3", "dictionary", DICT, "--rest atoms never learned from the mix (they stay random)",
       "            learned = b.nmf_dictionary_step(V, A, D, beta)[fixed:]\n",
       "            learned = D[fixed:]\n"),
    _m("D4", "dictionary", SEPD, "--seed ignored (a fixed generator)",
       "rng = np.random.default_rng(cfg.seed)", "rng = np.random.default_rng(0)"),
    _m("D5", "dictionary", CONFIG, "--seed refused under --method dictionary",
       '    seed: int = opt(0, "seed of the method\'s random start")\n', ""),
    _m("D6", "dictionary", TOOLS, "an option of another method not named as such (argparse's "
       "'unrecognized arguments' instead)",
       "foreign = [t for t in given if t not in own and",
       "foreign = [t for t in () if t not in own and"),
    _m("D7", "dictionary", CONFIG, "the API takes another method's option without a one-line "
       "error", "    if foreign:\n        flags = ", "    if False:\n        flags = "),
    _m("D8", "dictionary", SEPD, "--rest NAME that also has an example accepted",
       "if cfg.rest in examples:", "if False:"),
    _m("D9", "dictionary", SEPD, "an example shorter than one frame not refused in one line",
       "if len(example) < cfg.mask_n_fft:", "if len(example) < cfg.mask_hop_length:"),
    # --harmonic-filters fastfood.
    _m("F1", "fastfood", "kernels/numpy_ref.py", "backward gathers through the permutation "
       "again instead of scattering (numpy_ref)", "dW[:, perm[b]] = fwht(dV) * gauss[b]\n",
       "dW = (fwht(dV) * gauss[b])[:, perm[b]]\n"),
    _m("F2", "fastfood", "kernels/cpu.py", "backward gathers through the permutation (cpu)",
       "v[perm[b, j]] = u[j] * gauss[b, j]", "v[j] = u[perm[b, j]] * gauss[b, j]"),
    _m("F3", "fastfood", "kernels/cuda.py", "backward gathers through the permutation (cuda)",
       "dW[:, perm[b]] = fwht(dV) * gauss[b]  #", "dW = (fwht(dV) * gauss[b])[:, perm[b]]  #"),
    _m("F4", "fastfood", NET, "the network's fastfood draw ignores --seed",
       "ff = draw_fastfood(rng, c.kernel_size", "ff = draw_fastfood(np.random.default_rng(0), "
       "c.kernel_size"),
    _m("F5", "fastfood", FF, "the Gaussian diagonal drawn from NumPy's global generator",
       "gauss = rng.standard_normal((n_blocks, N), dtype=np.float32)",
       "gauss = np.random.standard_normal((n_blocks, N)).astype(np.float32)"),
    _m("F6", "fastfood", FF, "scale without the 1/sqrt(N) of the unnormalized Hadamard",
       "scale = (sigma * chi / (np.sqrt(N) * g_norm))", "scale = (sigma * chi / g_norm)"),
    _m("F7", "fastfood", NET, "--harmonic-filters fastfood draws dense filters anyway",
       'if c.harmonic_filters == "fastfood":', 'if c.harmonic_filters == "structured":'),
    # Issue 33's three breakages (the ones that survived two audits).
    _m("H1", "issue33", "engine/run/separate_shared.py", "HPSS's reference takes the worst "
       "assignment of its two parts to the sources, not the best",
       "best = max(options, key=", "best = min(options, key="),
    _m("W1", "issue33", QUALITY, "a run's measure weighs several styles equally",
       "eval_grams([(s, w) for s, w in styles], sr)",
       "eval_grams([(s, 1.0) for s, w in styles], sr)"),
    _m("B13", "issue33", RUNNER, "a resumed batch counts a row done though its result was "
       "deleted (the report is there)",
       "if report is None or not all(os.path.exists(p) for p in results):",
       "if report is None:"),
    _m("B14", "issue33", RUNNER, "that row run without --overwrite (refused: its report is "
       "in the way)", 'return "redo", "its result is missing"', 'return "run", ""'),
    _m("L11", "issue33", LOUD, "limited_by_ceiling false beside a positive limiter_db (the "
       "limiter met the target)", "bool(taken > 0 or gain >= cap * (1 - 1e-9))",
       "bool(gain >= cap * (1 - 1e-9))"),
    _m("W2", "issue33", SESSION, "a several-part run's measure of its mix weighs the styles "
       "equally", 'mono = [(channels.split(s, "mono")[0], w) for s, w in styles]',
       'mono = [(channels.split(s, "mono")[0], 1.0) for s, w in styles]'),
    # Audio out, evaluate and the command line (issue 33's "what a new user met").
    _m("A1", "output", AUDIO, "infinite samples written (only NaN refused)",
       "bad = int(np.count_nonzero(~np.isfinite(y)))", "bad = int(np.count_nonzero(np.isnan(y)))"),
    _m("A2", "output", AUDIO, "every output written as WAV whatever its suffix",
       "subtype=sf_subtype, format=fmt))", 'subtype=sf_subtype, format="WAV"))'),
    _m("A3", "output", AUDIO, "the output rate in the header without resampling (a pitch "
       "shift)", "        y = resample(y, sr, out_sr).astype(np.float64)\n", "        pass\n"),
    _m("A4", "output", COMMON, "outputs at --sr, not the input's rate",
       "rate = audio.file_rate(path) if path else args.sr", "rate = args.sr"),
    _m("A5", "output", "engine/cli/tools.py", "separate's sources written at --sr, not the "
       "mix's rate", "overwrite=args.overwrite, normalize=False, out_sr=out_sr)\n        "
       "audio.write_json(rep,", "overwrite=args.overwrite, normalize=False)\n        "
       "audio.write_json(rep,"),
    _m("A6", "output", AUDIO, "an MP3 that this libsndfile cannot write is not refused",
       "if CODECS[fmt] not in sf.available_subtypes(fmt):", "if False:"),
    _m("A7", "output", AUDIO, "an end past the file clamped silently (the warning looks at "
       "the start)", "if end is not None and e > duration:",
       "if start is not None and e > duration:"),
    _m("A8", "output", COMMON, "no suggestion for a mistyped flag (too strict a match)",
       "cutoff=0.75)", "cutoff=0.95)"),
    _m("A9", "output", COMMON, "the compile line only under --backend cpu, not auto",
       'if not args.progress or args.backend not in ("auto", "cpu"):',
       'if not args.progress or args.backend != "cpu":'),
    _m("A10", "output", "kernels/cpu.py", "a cache older than the source counted as cached",
       "os.path.exists(i) and os.path.getmtime(i) >= source", "os.path.exists(i)"),
    _m("E1", "output", EVAL, "evaluate ignores --content-start/--content-end",
       "audio.load(args.content, args.sr, args.content_start, args.content_end,",
       "audio.load(args.content, args.sr, None, None,"),
    _m("E2", "output", EVAL, "a content of another length than the result scored silently",
       "if abs(len(content) - len(result)) > SAME_LENGTH_S * args.sr:", "if False:"),
    # The pages.
    _m("G1", "page", PAGE, "a player of the whole file where the run used a stretch",
       "            if clip.stretch:  # the part the run used", "            if False:  #"),
    _m("G2", "page", PAGE, "separate's page without the SDR table",
       'parts.append(_table(_flat(report.get("reference") or {}), "against the references"))',
       "pass"),
    _m("G3", "page", "engine/cli/batch.py", "a batch row's stretch not passed to its page",
       "page.Clip(label, path, **_stretch(job.options, label))", "page.Clip(label, path)"),
    _m("G4", "page", "engine/cli/style.py", "a transfer's report leaves out the stretch it used",
       "inputs.update({k: getattr(args, k) for k in CUTS", "inputs.update({k: None for k in ()"),
    # Issue 20: presets, the band spectrum term, the memory estimate.
    _m("PR1", "issue20", PRESETS, "a preset overrides options the user set",
       "if k not in explicit and hasattr(args, k)}", "if hasattr(args, k)}"),
    _m("PR2", "issue20", PRESETS, "a transfer-only preset accepted by texture",
       "if mode not in MODES.get(name, (mode,)):", "if False:"),
    _m("SP1", "issue20", SPEC, "several styles' band powers averaged equally, not by weight",
       "return sum(w * mean_band_power(net, np.asarray(x), bands) for x, w in styles)",
       "return sum(mean_band_power(net, np.asarray(x), bands) for x, w in styles) / len(styles)"),
    _m("SP2", "issue20", SPEC, "the band floor absolute, not relative to the style's mean",
       "eps = FLOOR * float(np.mean(P)) or FLOOR", "eps = FLOOR"),
    _m("SP3", "issue20", SPEC, "a short last chunk weighted as a full one",
       "acc += np.asarray(b.to_numpy(P), dtype=np.float64)[0] * (f1 - f0)",
       "acc += np.asarray(b.to_numpy(P), dtype=np.float64)[0] * chunk_frames"),
    _m("SP4", "issue20", SPEC, "the content offset depends on the level (no shares)",
       "share_s, share_c = ps / ps.sum(), pc / pc.sum()", "share_s, share_c = ps, pc"),
    _m("ME1", "issue20", MEM, "a transfer's content network left out of the estimate",
       "        out.insert(0, (base, bool(getattr(cfg, \"base_style\", False)), True))\n",
       "        pass\n"),
    _m("ME2", "issue20", MEM, "several styles' transient Grams not counted",
       "transient = 2 + (len(styles) > 1)", "transient = 2"),
    _m("ME3", "issue20", MEM, "fastfood filters counted as dense ones",
       "return 4 * N * -(-c.n_filters // N)", "return c.kernel_size * B * c.n_filters"),
]
