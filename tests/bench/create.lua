-- Task creation (task row + tag link + search document + two outbox rows, one transaction).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
request = function()
  local body = string.format('{"title":"%s %s %d","priority":"high","due":"2026-12-%02dT09:30","tags":["work"]}',
    words[math.random(#words)], words[math.random(#words)], math.random(100000), math.random(28))
  return wrk.format("POST", "/api/v1/tasks",
    { ["Authorization"] = "Bearer " .. token(), ["Content-Type"] = "application/json" }, body)
end
