"""CDK apps for the construct tests: bundling skipped unless a test asks for it.

Most tests look only at resources, so their apps carry the context
``aws:cdk:bundling-stacks: []`` (as ``cdk synth --exclusively`` does for the
stacks it leaves out) and no pip runs; ``test_bundling`` bundles for real.
"""

from __future__ import annotations

import os

# jsii starts node when aws_cdk is imported; node 20 works but is past the
# end of jsii's support, which it says in a banner on every start.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
# CDK's built-in template validation (a second linter, run on every synth)
# takes most of a synth's time; test_lint runs cfn-lint on synthesized
# templates instead, and the cdk CLI test (test_example) keeps it on.
os.environ.setdefault("CDK_VALIDATION", "false")
