<?php
// For t/php.t: each page counts its runs, one line a run ("200" or what it
// answered), in t/logs/php-fpm/runs/<page>_<case>, where the test reads
// them: a 304 from the validator store is one its page never saw.
function condcache_count($what = '200')
{
    $dir = getenv('CONDCACHE_PHP_FPM_DIR') . '/runs';
    @mkdir($dir);
    $name = basename($_SERVER['SCRIPT_NAME'], '.php') . '_'
            . preg_replace('/[^A-Za-z0-9]/', '_', $_GET['case'] ?? '');
    file_put_contents("$dir/$name", "$what\n", FILE_APPEND | LOCK_EX);
}
