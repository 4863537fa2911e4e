<?php
// A page that says no-store and nothing else: no Expires, no max-age.
header('Content-Type: text/plain');
header('Cache-Control: no-store');
echo "not to be stored\n";
