"""Data-mixture recipes, by name. Each module has a `Params` model and `build(params, ctx)`.

Written out by hand (no registry): the YAML `recipe:` field names a key of `RECIPES`.
"""

from xinstruct.recipes import crossin, languages_sweep, monolingual, multilingual, pinch, templates, translation_demos

RECIPES = {
    "monolingual": monolingual,
    "multilingual": multilingual,
    "pinch": pinch,
    "languages_sweep": languages_sweep,
    "translation_demos": translation_demos,
    "crossin": crossin,
    "templates": templates,
}
