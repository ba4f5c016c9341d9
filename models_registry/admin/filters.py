"""The model list's side filters that are not plain field filters."""

import datetime

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils import timezone

from models_registry.choices import Capability
from models_registry.filtersets import with_capabilities
from models_registry.models import Industry, ModelDependency, ModelIndustryProfile


class IndustryFilter(admin.SimpleListFilter):
    title = "industry (enabled profile)"
    parameter_name = "industry"

    def lookups(self, request, model_admin):
        return list(Industry.objects.order_by("slug").values_list("slug", "name"))

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        profiles = ModelIndustryProfile.objects.filter(model=OuterRef("pk"), enabled=True, industry__slug=self.value())
        return queryset.filter(Exists(profiles))


class CapabilityFilter(admin.SimpleListFilter):
    title = "capability"
    parameter_name = "capability"

    def lookups(self, request, model_admin):
        return Capability.choices

    def queryset(self, request, queryset):
        if self.value() not in Capability.values:
            return queryset
        return with_capabilities(queryset, [self.value()])


class HasDependenciesFilter(admin.SimpleListFilter):
    title = "dependencies"
    parameter_name = "has_dependencies"

    def lookups(self, request, model_admin):
        return [("yes", "Has dependencies"), ("no", "No dependencies")]

    def queryset(self, request, queryset):
        used = Exists(ModelDependency.objects.filter(model=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(used)
        if self.value() == "no":
            return queryset.filter(~used)
        return queryset


class DeprecationWindowFilter(admin.SimpleListFilter):
    title = "deprecation date"
    parameter_name = "deprecation"
    WINDOWS = {"30": 30, "90": 90, "365": 365}

    def lookups(self, request, model_admin):
        return [
            ("past", "Past"),
            ("30", "Within 30 days"),
            ("90", "Within 90 days"),
            ("365", "Within a year"),
            ("none", "No date"),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        value = self.value()
        if value == "past":
            return queryset.filter(deprecation_date__lt=today)
        if value == "none":
            return queryset.filter(deprecation_date__isnull=True)
        if value in self.WINDOWS:
            until = today + datetime.timedelta(days=self.WINDOWS[value])
            return queryset.filter(deprecation_date__gte=today, deprecation_date__lte=until)
        return queryset
