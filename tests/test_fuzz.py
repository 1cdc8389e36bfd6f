"""Hypothesis-driven bad input: every parser answers with a clear refusal and stores nothing.

Covers the credit-code validator, the readings payload (through the real, signed HTTP endpoint and
the MQTT gateway's handler) and the CSV/XLSX import parser; every form is fuzzed through its view in
tests/test_form_fuzz.py. Example counts follow the hypothesis profile (about 50 in CI), which the
last test here enforces for every hypothesis test of the suite.
"""

import json
import string
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capacity.api_metering import sign
from capacity.models import MeterReading, Resource
from capacity.services.imports import import_resources
from capacity.validators import CREDIT_CODE_ALPHABET, credit_code_check_character, validate_credit_code
from marketplace.errors import DomainError

DB_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(body=st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=17, max_size=17))
def test_a_code_with_its_check_character_is_valid_and_any_single_change_is_not(body):
    code = body + credit_code_check_character(body)
    if not code[2:8].isdigit():
        with pytest.raises(ValidationError):
            validate_credit_code(code)
        return
    validate_credit_code(code)
    for position in range(18):
        for replacement in CREDIT_CODE_ALPHABET[:5]:
            if replacement == code[position]:
                continue
            mutated = code[:position] + replacement + code[position + 1 :]
            if mutated[2:8].isdigit() and credit_code_check_character(mutated[:17]) == mutated[17]:
                continue  # a different valid code, not an error
            with pytest.raises(ValidationError):
                validate_credit_code(mutated)


@given(st.text(max_size=30))
def test_any_text_is_either_a_valid_code_or_a_validation_error(text):
    try:
        validate_credit_code(text)
    except ValidationError as error:
        assert error.messages and all(message.strip() for message in error.messages)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
reading_like = st.fixed_dictionaries(
    {},
    optional={
        "resource": json_values,
        "boot_id": json_values,
        "seq": json_values,
        "device_time": json_values,
        "run_seconds": json_values,
        "part_count": json_values,
        "alarm": json_values,
    },
)


@pytest.mark.django_db
@DB_SETTINGS
@given(body=st.one_of(json_values, st.fixed_dictionaries({"readings": st.lists(reading_like, max_size=4)})))
def test_signed_garbage_readings_are_refused_or_rejected_never_stored(client, provider_org, provider_owner, body):
    from tests.capacity.metering_support import device_for

    device, secret = device_for(provider_org, provider_owner, name=f"Fuzz {time.monotonic_ns()}")
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time()))
    response = client.post(
        "/api/v1/devices/readings/",
        data=raw,
        content_type="application/json",
        headers={
            "X-Spindle-Device": str(device.pk),
            "X-Spindle-Timestamp": timestamp,
            "X-Spindle-Signature": sign(secret, timestamp, raw),
        },
    )
    assert response.status_code in (200, 400, 403), response.content[:300]
    if response.status_code == 200:
        results = response.json()["results"]
        assert all(r["status"] == "rejected" and r["reason"] for r in results)
    else:
        assert response.json()
    assert MeterReading.objects.filter(device=device).count() == 0


@pytest.mark.django_db
@DB_SETTINGS
@given(
    content=st.one_of(
        st.binary(max_size=400),
        st.lists(st.lists(st.text(alphabet=string.printable + "铣削五轴", max_size=12), max_size=8), max_size=5).map(
            lambda rows: "\n".join(",".join(row) for row in rows).encode()
        ),
    )
)
def test_garbage_imports_get_a_report_or_a_clear_error_and_create_nothing(provider_org, provider_owner, content):
    before = Resource.objects.count()
    upload = SimpleUploadedFile("resources.csv", content, content_type="text/csv")
    try:
        result = import_resources(organisation=provider_org, actor=provider_owner, upload=upload)
    except DomainError as error:
        assert str(error.message).strip()
    else:
        if result.created:
            # Only a fully valid sheet creates anything (random text essentially never is).
            assert not result.errors
            Resource.objects.filter(pk__in=[r.pk for r in result.created]).delete()
        else:
            assert all(e.message for e in result.errors)
    assert Resource.objects.count() == before


def _hypothesis_tests():
    """Every hypothesis test function of the suite (module functions and TestCase methods)."""
    import importlib
    import inspect
    import pkgutil

    import tests

    for info in pkgutil.walk_packages(tests.__path__, "tests."):
        if ".e2e" in info.name or not info.name.rsplit(".", 1)[-1].startswith("test_"):
            continue
        module = importlib.import_module(info.name)
        candidates = [
            (name, v) for name, v in vars(module).items() if inspect.isfunction(v) and v.__module__ == module.__name__
        ]
        for cls in (v for v in vars(module).values() if inspect.isclass(v) and v.__module__ == module.__name__):
            candidates += [(f"{cls.__name__}.{name}", v) for name, v in vars(cls).items() if inspect.isfunction(v)]
        for name, function in candidates:
            if getattr(function, "is_hypothesis_test", False):
                yield f"{info.name}.{name}", function


def test_every_hypothesis_test_follows_the_profile():
    """Example counts and reproducibility come from the loaded profile (``ci`` in CI), not from a
    per-test override; a test may only relax the deadline and health checks."""
    default = settings.default
    found = dict(_hypothesis_tests())
    assert "tests.test_fuzz.test_any_text_is_either_a_valid_code_or_a_validation_error" in found
    for name, function in found.items():
        chosen = function._hypothesis_internal_use_settings
        assert (chosen.max_examples, chosen.derandomize, chosen.database) == (
            default.max_examples,
            default.derandomize,
            default.database,
        ), name


@pytest.mark.django_db
@DB_SETTINGS
@given(
    readings=st.one_of(json_values, st.lists(reading_like, max_size=4)),
    ts=st.integers(-(2**63), 2**63),
    raw=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_garbage_mqtt_messages_get_an_outcome_and_store_nothing(provider_org, provider_owner, readings, ts, raw):
    """The MQTT gateway's handler (the broker only carries bytes): signed garbage readings, a garbage
    timestamp, or raw bytes are malformed, forbidden or rejected — never an exception, never stored."""
    from capacity.mqtt import build_payload, handle_message
    from tests.capacity.metering_support import device_for

    device, secret = device_for(provider_org, provider_owner, name=f"Fuzz {time.monotonic_ns()}")
    topic = f"spindle/{provider_org.slug}/{device.pk}/readings"
    payload = raw if raw is not None else build_payload(device, secret, readings, ts=ts)
    outcome = handle_message(topic, payload)
    assert outcome.status in ("malformed", "forbidden", "recorded", "unauthenticated"), outcome
    if outcome.status == "recorded":
        assert outcome.detail["stored"] == 0 and outcome.detail["duplicates"] == 0, outcome
    assert MeterReading.objects.filter(device=device).count() == 0
