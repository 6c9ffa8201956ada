"""Runs the Argo CD health check for TodoPlatform (examples/gitops/argocd-cm.yaml) on status objects.

Reads a JSON list of TodoPlatform objects on stdin, prints a JSON list of {"status", "message"}, one per
object. Argo CD runs health checks in gopher-lua (Lua 5.1) with the object converted to Lua tables; lupa's
Lua 5.1 runtime does the same here.
"""

import json
import sys

import lupa.lua51 as lupa
import yaml

KEY = "resource.customizations.health.todoplatform.dev_TodoPlatform"


def to_lua(runtime, value):
    if isinstance(value, dict):
        return runtime.table_from({k: to_lua(runtime, v) for k, v in value.items()})
    if isinstance(value, list):
        return runtime.table_from([to_lua(runtime, v) for v in value])
    return value


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        script = yaml.safe_load(f)["data"][KEY]
    verdicts = []
    for obj in json.load(sys.stdin):
        runtime = lupa.LuaRuntime(unpack_returned_tuples=True)
        check = runtime.eval("function(obj) " + script + " end")
        result = check(to_lua(runtime, obj))
        verdicts.append({"status": result["status"], "message": result["message"]})
    json.dump(verdicts, sys.stdout)


main()
