"""Forms of the queue pages: create a queue, add one trace, add many traces."""

from __future__ import annotations

from django import forms

from projects.models import Project
from queues.models import ReviewQueue
from tracereview.params import parse_int

MAX_SELECTED = 1000  # rows a person can tick on list pages; "all matching" has no such limit


class QueueForm(forms.ModelForm):
    class Meta:
        model = ReviewQueue
        fields = ["name", "description"]
        widgets = {
            "name": forms.TextInput(attrs={"placeholder": "e.g. Hallucination check", "autocomplete": "off"}),
            "description": forms.Textarea(attrs={"rows": 2, "placeholder": "What to look for (optional)"}),
        }

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("A queue needs a name.")
        return name


class AddToQueueForm(forms.Form):
    """Choose an existing queue or name a new one (created inline)."""

    queue = forms.ModelChoiceField(
        queryset=ReviewQueue.objects.none(),
        required=False,
        empty_label="Choose a queue…",
        error_messages={"invalid_choice": "That queue does not exist (any more)."},
    )
    new_name = forms.CharField(
        max_length=200,
        required=False,
        label="or a new queue",
        widget=forms.TextInput(attrs={"placeholder": "New queue name", "autocomplete": "off"}),
    )
    move = forms.BooleanField(required=False, label="Move traces pending in another queue here")

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["queue"].queryset = ReviewQueue.objects.active().for_project(project).order_by("name")

    def clean(self) -> dict:
        data = super().clean()
        queue, new_name = data.get("queue"), (data.get("new_name") or "").strip()
        data["new_name"] = new_name
        if not self.errors and bool(queue) == bool(new_name):
            raise forms.ValidationError("Choose a queue, or type the name of a new one (not both).")
        return data


class BulkAddForm(AddToQueueForm):
    """Selected rows (`trace` = Trace pks) or `all` traces matching `filters` (a querystring)."""

    trace = forms.TypedMultipleChoiceField(coerce=parse_int, required=False, choices=())
    all = forms.BooleanField(required=False)
    filters = forms.CharField(required=False, max_length=4000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer is a valid choice here; the service keeps only this project's traces.
        self.fields["trace"].valid_value = lambda value: parse_int(value) is not None

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("all"):
            selected = data.get("trace") or []
            if not selected:
                raise forms.ValidationError("Select at least one trace, or add all matching traces.")
            if len(selected) > MAX_SELECTED:
                raise forms.ValidationError(f"Select at most {MAX_SELECTED} traces, or add all matching.")
        return data
