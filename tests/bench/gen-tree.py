#!/usr/bin/env python3
"""Generates the scale benchmark's organisation (issue 11) into a directory.

Shape: N top-level stacks = tenants x stages x regions. Each stack file imports its tenant's
defaults and two mixins (stage, region); the tenant defaults import the catalog, which imports
one file per component — three levels of imports under every stack. The catalog has 50
components; each is an abstract base (`cNN-base`, 20 vars, 2 SOPS declarations) and a concrete
instance (`cNN`, inheriting the base). Every stack declares one stack-scoped SOPS secret.

    tests/bench/gen-tree.py DIR STACKS [--templates]

STACKS is 50, 200, 800 or 3200 (any product of the table below works). `--templates` makes
five of each base's vars Go templates (the describe-templates comparison uses its own tree).
Prints the logical name of one stack and one component for the single-stack commands.
"""

import os
import sys

SIZES = {  # stacks: (tenants, stages, regions)
    50: (5, 5, 2),
    200: (10, 5, 4),
    800: (20, 5, 8),
    3200: (80, 5, 8),
}
STAGES = ["dev", "qa", "stg", "uat", "prod"]
REGIONS = ["ue1", "ue2", "uw1", "uw2", "ew1", "ew2", "ac1", "as1"]
COMPONENTS = 50
VARS = 20

ATMOS_YAML = """\
base_path: "."
stacks:
  base_path: stacks
  included_paths: ["orgs/**/*"]
  name_pattern: "{tenant}-{environment}-{stage}"
secrets:
  providers:
    local-sops:
      kind: sops/age
      spec:
        path: secrets
        age_key_file: .atmos/age/keys.txt
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def component_file(i, templates):
    base, name = f"c{i:02d}-base", f"c{i:02d}"
    lines = ["components:", "  terraform:", f"    {base}:", "      metadata:",
             "        type: abstract", f"        component: {name}", "      vars:"]
    for v in range(VARS):
        if templates and v < 5:
            value = f"'{{{{ .vars.stage }}}}-{{{{ .atmos_component }}}}-{v}'"
        else:
            value = f"value-{i}-{v}-abcdefghij"
        lines.append(f"        v{v:02d}: {value}")
    lines += ["        enabled: true", f"        size: {i * 10}",
              "      secrets:", "        vars:",
              f"          C{i:02d}_DB_PASSWORD: {{sops: local-sops, required: true}}",
              f"          C{i:02d}_API_TOKEN: {{sops: local-sops, required: false, description: token for {name}}}",
              f"    {name}:", "      metadata:", f"        component: {name}",
              f"        inherits: [{base}]", "      vars:", f"        name: {name}", ""]
    return "\n".join(lines)


def generate(root, stacks, templates=False):
    tenants, stages, regions = SIZES[stacks]
    write(os.path.join(root, "atmos.yaml"), ATMOS_YAML)
    s = os.path.join(root, "stacks")
    for i in range(COMPONENTS):
        write(f"{s}/catalog/components/c{i:02d}.yaml", component_file(i, templates))
    write(f"{s}/catalog/all.yaml",
          "import:\n" + "".join(f"  - catalog/components/c{i:02d}\n" for i in range(COMPONENTS)))
    for st in STAGES[:stages]:
        write(f"{s}/mixins/stage/{st}.yaml", f"vars:\n  stage: {st}\nsettings:\n  tier: {st}\n")
    for r in REGIONS[:regions]:
        write(f"{s}/mixins/region/{r}.yaml",
              f"vars:\n  environment: {r}\n  region: region-{r}\nenv:\n  AWS_REGION: region-{r}\n")
    for t in range(tenants):
        write(f"{s}/tenants/t{t:02d}.yaml",
              f"import:\n  - catalog/all\nvars:\n  tenant: t{t:02d}\n  owner: team-{t}\n")
        for st in STAGES[:stages]:
            for r in REGIONS[:regions]:
                write(f"{s}/orgs/t{t:02d}/{st}/{r}.yaml",
                      f"import:\n  - tenants/t{t:02d}\n  - mixins/stage/{st}\n  - mixins/region/{r}\n"
                      "secrets:\n  vars:\n    STACK_TOKEN: {sops: local-sops, required: true}\n")
    return f"t00-{REGIONS[0]}-{STAGES[0]}", "c00"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2 or int(args[1]) not in SIZES:
        sys.exit(f"usage: gen-tree.py DIR STACKS [--templates]  (STACKS in {sorted(SIZES)})")
    stack, component = generate(args[0], int(args[1]), "--templates" in sys.argv)
    print(stack, component)


if __name__ == "__main__":
    main()
