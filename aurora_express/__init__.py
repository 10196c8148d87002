"""aurora-express-provider's installable side: what users run on their machines.

- ``aurora_express.cli``: the ``aurora-express`` command (base install);
- ``aurora_express.lint``: cfn-lint rules (``[lint]`` extra);
- ``aurora_express.local``: the offline emulation behind ``demo`` and
  ``--local`` (``[local]`` extra);
- ``aurora_express.schema``: JSON Schemas of the two resource types;
- ``aurora_express.cdk``: CDK constructs for the provider, clusters and
  migrations (``[cdk]`` extra), built from ``provider_template`` (template.yaml's
  copy) and ``provider_build`` (each function's build, also ``sam build``'s).

What CloudFormation runs is ``provider/`` (deployed by ``template.yaml``).
"""
