-- Deterministic output written at once.
function handle(r)
    r.content_type = "text/plain"
    r:write("written at once\n")
    return apache2.OK
end
