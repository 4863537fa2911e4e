<?php
// A redirect: header("Location: ...") alone, which PHP makes a 302.
require __DIR__ . '/count.inc.php';
condcache_count();
header('Location: /php/plain.php?case=redirected');
echo "moved\n";
