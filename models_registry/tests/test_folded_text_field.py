"""FoldedTextField (the model's search text): what a new field defaults to, and that its
deconstruction (what a migration writes) names only what differs from those defaults and
builds the same field back."""

from models_registry.models.fields import FoldedTextField


def rebuilt(field: FoldedTextField) -> FoldedTextField:
    _, path, args, kwargs = field.deconstruct()
    assert path == "models_registry.models.fields.FoldedTextField"
    return FoldedTextField(*args, **kwargs)


def test_a_new_field_is_computed_text_nobody_types_in():
    field = FoldedTextField(sources=["name", "aliases"])

    assert field.sources == ("name", "aliases")
    assert field.editable is False
    assert field.blank is True
    assert field.default == ""


def test_positional_arguments_reach_the_text_field():
    field = FoldedTextField("Search text", "search", sources=("name",))

    assert (field.verbose_name, field.name) == ("Search text", "search")


def test_a_field_without_sources_folds_nothing():
    assert FoldedTextField().sources == ()


def test_the_deconstruction_names_only_the_sources_when_the_rest_is_default():
    field = FoldedTextField(sources=("name", "description"))
    field.set_attributes_from_name("search_text")

    name, _, args, kwargs = field.deconstruct()

    assert (name, args, kwargs) == ("search_text", [], {"sources": ("name", "description")})


def test_a_field_deconstructed_and_rebuilt_is_the_same_field():
    for field in [
        FoldedTextField(sources=("name",)),
        FoldedTextField(sources=("name",), editable=True, blank=False, default="x", null=True),
    ]:
        again = rebuilt(field)
        assert (again.sources, again.editable, again.blank, again.default, again.null) == (
            field.sources,
            field.editable,
            field.blank,
            field.default,
            field.null,
        )


def test_a_setting_that_differs_from_the_default_is_kept():
    _, _, _, kwargs = FoldedTextField(sources=("name",), editable=True, blank=False, default="x").deconstruct()

    assert kwargs == {"sources": ("name",), "editable": True, "blank": False, "default": "x"}
