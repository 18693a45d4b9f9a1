"""Data-mixture recipes, by name. Each module has a `Params` model and `build(params, ctx)`.

Written out by hand (no registry): the YAML `recipe:` field names a key of `RECIPES`.
"""

from xinstruct.recipes import monolingual, pinch

RECIPES = {
    "monolingual": monolingual,
    "pinch": pinch,
}
