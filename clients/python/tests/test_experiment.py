"""The optimizer over a Python type: a type that declares a config schema is
tuned by `run_experiment`; its runs reach the Python worker as ordinary
claims whose input has `config`, the worker's score is the response, and
approving the results deploys the optimum to the type's active config."""

from __future__ import annotations

from baton_worker import Result, Workflow
from support import BatonServer, running, unique


def finished(wf):
    return wf["status"] in ("COMPLETED", "FAILED")


async def test_an_experiment_tunes_a_python_type_and_approval_deploys_the_optimum(baton: BatonServer):
    t = unique("tunable")
    seen: list[dict] = []

    class Tunable(Workflow):
        name = t
        input_schema = {"type": "object", "required": ["topic", "config"]}
        config_schema = {"type": "object", "additionalProperties": False,
                         "properties": {"temperature": {"type": "number", "minimum": 0, "maximum": 1},
                                        "tone": {"enum": ["dry", "warm"]}}}
        requires_approval = True

        def execute(self, input):
            config = input["config"]
            seen.append(config)
            # A known response surface: temperature matters, tone a little.
            score = 40 + 50 * config["temperature"] + (3 if config["tone"] == "warm" else 0)
            return Result(output={"topic": input["topic"]}, score=score)

    worker = baton.worker([Tunable], token=baton.admin_token, declare=True)
    async with running(worker):
        await baton.await_declared(t)
        exp = baton.admin.run("run_experiment", {
            "target": t,
            "factors": {"temperature": [{"temperature": 0.2}, {"temperature": 0.8}],
                        "tone": [{"tone": "dry"}, {"tone": "warm"}]},
            "briefs": [{"topic": "otters"}],
            "base_config": {"temperature": 0.5, "tone": "dry"},
            "control": False,
        })
        done = await baton.await_workflow(exp["id"], finished, timeout=60)

    assert done["status"] == "COMPLETED", done
    assert len(seen) == 4
    assert done["output"]["optimal_config"] == {"temperature": 0.8, "tone": "warm"}
    approval = done["approval"]
    decided = baton.admin.approve(approval["id"], approval["artifactVersion"])
    deploy = baton.wait_workflow(decided["nextWorkflow"]["id"], finished, timeout=30)
    assert deploy["status"] == "COMPLETED", deploy
    active = baton.admin.graphql(
        "query($t: String!) { activeDeployment(target: $t, environment: \"production\") { config } }",
        {"t": t},
    )
    assert active["activeDeployment"]["config"] == {"temperature": 0.8, "tone": "warm"}
