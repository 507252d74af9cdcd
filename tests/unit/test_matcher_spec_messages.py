"""The matcher builds a spec version's protobuf message once: claims and offers shown
under it copy that message; a spec that is no cached version's is converted anew."""

from __future__ import annotations

import gc
from dataclasses import replace

from crewline.answers import AnswerField, AnswerSpec, Choice, Scale
from crewline.protobuf import answer_spec_to_pb
from matcher.adapters.answer_specs import SpecVersion, spec_to_pb

SPEC = AnswerSpec(
    fields=(
        AnswerField(name="verdict", kind=Choice(labels=("yes", "no"))),
        AnswerField(name="score", kind=Scale(min=0, max=1, step=0.25)),
    ),
    version=2,
)


def test_a_versions_message_is_built_once_and_equals_a_fresh_one() -> None:
    version = SpecVersion(replace(SPEC))
    assert version.spec is not None
    first = spec_to_pb(version.spec)
    assert spec_to_pb(version.spec) is first is version.pb
    assert first == answer_spec_to_pb(SPEC)
    assert first.version == 2 and [f.name for f in first.fields] == ["verdict", "score"]


def test_a_spec_of_no_cached_version_is_converted_anew() -> None:
    version = SpecVersion(replace(SPEC))
    other = replace(SPEC)  # equal, but not the version's own object
    assert spec_to_pb(other) is not version.pb
    assert spec_to_pb(other) == version.pb


def test_a_spec_outliving_its_version_is_still_converted() -> None:
    version = SpecVersion(replace(SPEC))
    spec = version.spec
    assert spec is not None
    del version
    gc.collect()  # the version is gone (evicted): its entry goes with it
    assert spec_to_pb(spec) == answer_spec_to_pb(SPEC)


def test_no_spec_has_no_message_to_cache() -> None:
    assert SpecVersion(AnswerSpec(fields=(), version=3)).spec is None
    assert SpecVersion(None).spec is None
