import matplotlib as mpl
import pytest

from evaluate.style import AF_COLOURS, apply_style, palette, style_context


def test_palette_is_the_analysis_function_one():
    assert palette() == ["#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1"]
    assert palette(2) == ["#12436D", "#28A197"]
    assert AF_COLOURS["orange"] == "#F46A25"
    with pytest.raises(ValueError):
        palette(7)


def test_style_context_restores_settings():
    before = dict(mpl.rcParams)
    with style_context():
        assert mpl.rcParams["axes.spines.top"] is False
        assert mpl.rcParams["font.family"] == ["sans-serif"]
        assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][0].upper() == "#12436D"
    assert mpl.rcParams["axes.spines.top"] == before["axes.spines.top"]


def test_apply_style_sets_globally():
    with mpl.rc_context():
        apply_style()
        assert mpl.rcParams["axes.spines.right"] is False
