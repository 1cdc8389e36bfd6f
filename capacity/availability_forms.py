"""Forms of the availability calendar: painted half-hour cells and dated exceptions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from capacity.models import AvailabilityException
from capacity.services.availability import PATTERN_PRESETS, SLOTS_PER_DAY, Cell

CELL_CHOICES = [(f"{d}-{s}", f"{d}-{s}") for d in range(7) for s in range(SLOTS_PER_DAY)]


class WeeklyPatternForm(forms.Form):
    """The grid: one checkbox per half-hour cell, named ``cell`` with value ``weekday-slot``."""

    cell = forms.MultipleChoiceField(
        choices=CELL_CHOICES,
        required=False,
        error_messages={
            "invalid_choice": _(
                "“%(value)s” is not a cell of the weekly grid (weekday 0–6, half hour 0–47). Nothing was saved."
            ),
            "invalid_list": _("The painted cells could not be read. Nothing was saved."),
        },
    )
    preset = forms.ChoiceField(
        choices=[(key, key) for key in PATTERN_PRESETS],
        required=False,
        error_messages={"invalid_choice": _("Unknown preset. Nothing was saved.")},
    )

    def cells(self) -> set[Cell]:
        """The painted cells with the chosen preset applied ("clear" empties the grid)."""
        painted = {tuple(int(part) for part in value.split("-")) for value in self.cleaned_data["cell"]}
        preset = self.cleaned_data.get("preset")
        if preset == "clear":
            return set()
        if preset:
            painted |= PATTERN_PRESETS[preset]
        return painted  # type: ignore[return-value]


class AvailabilityExceptionForm(forms.Form):
    """A dated exception, entered in the provider's local time (the view activates its zone)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=AvailabilityException.Kind.choices)
    start = forms.DateTimeField(
        label=_("Starts"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    end = forms.DateTimeField(
        label=_("Ends"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("The end itself is not included."),
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        help_text=_("For example: annual maintenance, Spring Festival, extra Saturday shift."),
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end <= start:
            self.add_error("end", _("The end must be after the start."))
        return cleaned
