# An administrator moves a mod_expires configuration over by renaming its
# directives (ExpiresByType -> CondCacheExpiresByType, ...) and gets the
# same lifetimes: the same config runs through both modules side by side
# (extra.conf: migrate/expires and migrate/condcache) and the answers are
# compared.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use HTTP::Date qw(str2time);
use lib 't/lib';
use CondCacheTest;

my %files = (
    'a.txt'  => 'A600',
    'b.css'  => 'access plus 1 month 2 days',
    'd.gif'  => 'now plus 1 year',
    'e.html' => 'ExpiresDefault access plus 1 hour',
);

plan tests => 4 * keys(%files) + 18;

sub max_age {
    my $cc = shift->header('Cache-Control') // '';
    return $cc =~ /(?:^|,\s*)max-age=(-?\d+)/ ? $1 : undef;
}

for my $f (sort keys %files) {
    my $theirs = GET "/migrate/expires/$f";
    my $ours = GET "/migrate/condcache/$f";
    ok t_cmp(defined max_age($theirs) ? 1 : 0, 1, "$f: mod_expires answers");
    ok t_cmp(max_age($ours), max_age($theirs),
             "$f ($files{$f}): same max-age");
    ok t_cmp(expires_in($ours), expires_in($theirs),
             "$f: same Expires - Date");
    ok t_cmp(expires_in($ours), max_age($ours), "$f: Expires = Date + max-age");
}

# modification plus 1 year, of a file changed yesterday
my $lm = time - 86400;
set_mtime('migrate/expires/c.png', $lm);
set_mtime('migrate/condcache/c.png', $lm);
my $theirs = GET '/migrate/expires/c.png';
my $ours = GET '/migrate/condcache/c.png';
ok t_cmp($ours->header('Expires'), $theirs->header('Expires'),
         'modification plus 1 year: the same Expires');
ok t_cmp(str2time($ours->header('Expires')), $lm + 365 * 86400,
         'Last-Modified + 365 days');
# mod_expires truncates (expires - request time) to seconds, so its max-age
# can fall one second short of its own Expires; ours agrees with Expires
ok t_cmp(abs(max_age($ours) - max_age($theirs)) <= 1 ? 1 : 0, 1,
         'max-age within the second mod_expires rounds away');
ok t_cmp(expires_in($ours), max_age($ours), 'ours: Expires = Date + max-age');

# where mod_expires and the RFC part: a lifetime already over gives
# max-age=0 (docs/conformance.md 5.4), not a negative max-age
set_mtime('migrate/condcache/c.png', LM_SECS);
ok t_cmp(max_age(GET '/migrate/condcache/c.png'), 0,
         'a lifetime in the past: max-age=0');

# A child's default beside its parent's by-type rules (.htaccess under a
# <Directory>): mod_expires gives each type its rule, whichever scope has
# it, and the child's default to the rest; so does the module.
for my $d ('expires', 'condcache') {
    set_mtime("migrate2/$d/sub/$_", time - 3600) for qw(a.gif b.jpg c.txt);
}
for my $f (['sub/a.gif', 120], ['sub/b.jpg', 86400], ['c.txt', 600]) {
    my ($path, $want) = @$f;
    my $theirs = GET "/migrate2/expires/$path";
    my $ours = GET "/migrate2/condcache/$path";
    ok t_cmp(max_age($theirs), $want, "mod_expires: $path $want s");
    ok t_cmp(max_age($ours), max_age($theirs), "the module: $path the same");
}
{
    my $theirs = GET '/migrate2/expires/sub/c.txt';
    my $ours = GET '/migrate2/condcache/sub/c.txt';
    ok t_cmp(abs(max_age($ours) - max_age($theirs)) <= 1 ? 1 : 0, 1,
             'the child\'s "modification plus 1 week" for the other types '
             . '(' . max_age($ours) . ' and ' . max_age($theirs) . ')');
    ok t_cmp(abs(max_age($ours) - (7 * 86400 - 3600)) <= 2 ? 1 : 0, 1,
             'a week from the file\'s time');
}

# Half migrated: ExpiresActive On, "Header set Cache-Control" and the
# module's policy in one scope.  The module's composition is the last word:
# one Cache-Control, one max-age, Expires = Date + max-age.
{
    my $r = GET '/migrate/half/site.css';
    my @cc = $r->header('Cache-Control');
    ok t_cmp(scalar(@cc), 1, 'half migrated: one Cache-Control field');
    ok t_cmp($cc[0], 'max-age=2592000', 'the module\'s lifetime, alone');
    ok t_cmp(expires_in($r), 2592000, 'Expires = Date + max-age');
    $r = GET '/migrate/half/app.sh';
    @cc = $r->header('Cache-Control');
    ok t_cmp("@cc", 'private', 'a page that says private stays private');
    ok t_cmp($r->header('Expires'), undef,
             'and gets no Expires from mod_expires');
}
