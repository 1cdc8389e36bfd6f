from django import forms
from django.utils.translation import gettext_lazy as _

from capacity.models import Device, Resource


class _ResourcesField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class DeviceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, help_text=_("For example “Gateway hall 2”."))
    kind = forms.ChoiceField(label=_("Kind"), choices=Device.Kind.choices, initial=Device.Kind.GATEWAY)
    resources = _ResourcesField(
        label=_("Resources it reports for"),
        queryset=Resource.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the provider's own resources can ever be chosen.
        self.fields["resources"].queryset = Resource.objects.filter(provider=organisation).order_by("name", "pk")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the device a name."))
        return name


class BindResourcesForm(forms.Form):
    resources = _ResourcesField(
        label=_("Resources it reports for"),
        queryset=Resource.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resources"].queryset = Resource.objects.filter(provider=organisation).order_by("name", "pk")
