-- Several brigades of deterministic output; ?flush=1 flushes between them.
function handle(r)
    r.content_type = "text/plain"
    for i = 1, 4 do
        r:write(string.rep(string.format("part %d ", i), 1500) .. "\n")
        if r.args == "flush=1" then
            r:flush()
        end
    end
    return apache2.OK
end
