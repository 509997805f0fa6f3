"""Help that fits the command: each command's (and each separate method's) --help lists the
options it takes and none that it refuses."""
import re

import pytest

from randstyle.engine import presets
from randstyle.engine.cli import main
from randstyle.engine.cli.tools import SEPARATE_ARGS, separate_args
from randstyle.engine.errors import ParameterError


def help_of(argv: list, capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def long_flags(text: str) -> set:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))


@pytest.mark.parametrize("method", list(SEPARATE_ARGS))
def test_each_separate_method_lists_only_the_options_it_takes(method, capsys):
    argv = ["separate"] if method == "dictionary" else ["separate", "--method", method]
    text = help_of(argv, capsys)
    listed = long_flags(text.split("examples:")[0])
    others = set().union(*(long_flags(help_of(["separate", "--method", m], capsys))
                           for m in SEPARATE_ARGS if m != method))
    for flag in listed - {"--help"}:
        try:  # a listed option is one this method takes: separate_args refuses none of them
            assert separate_args(["--method", method, flag]) is SEPARATE_ARGS[method]
        except ParameterError as exc:
            pytest.fail(f"separate --method {method} --help lists {flag}, refused: {exc}")
    own = {"dictionary": {"--components", "--rest", "--beta"},
           "statistics": {"--maxiter", "--n-filters", "--shift-weight"}}[method]
    assert own <= listed and not own & (others - listed)
    assert not {"--init", "--spectrum-weight", "--checkpoint-every"} & listed


def test_the_default_methods_help_is_a_screenful_not_the_union(capsys):
    dictionary = help_of(["separate"], capsys)
    statistics = help_of(["separate", "--method", "statistics"], capsys)
    assert "--shift-weight" not in dictionary and "--maxiter" not in dictionary
    assert "--components" not in statistics
    assert "separate --method statistics --help" in dictionary  # where the others are
    assert len(dictionary.splitlines()) < 130


@pytest.mark.parametrize("command", ["transfer", "texture"])
def test_a_style_command_offers_its_own_presets_only(command, capsys):
    text = help_of([command], capsys)
    for name in presets.PRESETS:
        offered = re.search(rf"(?<![\w-]){name}: ", text) is not None
        assert offered == (name in presets.names(command)), (command, name)


@pytest.mark.parametrize("argv,command", [
    (["texture"], "texture"), (["separate", "mix.wav", "--method", "statistics"], "separate")])
def test_a_command_without_a_content_has_no_content_feature_options(argv, command, capsys):
    """texture and the statistics separation inherit the network's content-feature fields
    but have no content: their help lists none, and one given is one line, exit 2."""
    assert not {"--content-features", "--content-n-mels"} & long_flags(help_of(argv, capsys))
    assert "--content-features" in long_flags(help_of(["transfer"], capsys))
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--content-n-mels=4"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == (f"randstyle {command}: error: --content-n-mels: no effect "
                                       f"on {command} (it has no content)\n")
