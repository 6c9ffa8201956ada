-- Ranked full-text search, whole words and search-as-you-type prefixes, 20 per page.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
request = function()
  local q = (math.random() < 0.5) and words[math.random(#words)] or prefixes[math.random(#prefixes)]
  return wrk.format("GET", "/api/v1/tasks?q=" .. q .. "&limit=20", { ["Authorization"] = "Bearer " .. token() })
end
