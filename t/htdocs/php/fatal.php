<?php
// A fatal error after some output: PHP answers 500 (display_errors off;
// the message goes to the pool's error log, t/logs/php-fpm/php-error.log).
require __DIR__ . '/count.inc.php';
condcache_count();
header('Content-Type: text/plain');
echo "the start of a page\n";
condcache_no_such_function();
echo "never sent\n";
