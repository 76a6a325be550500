#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A private system bus with a mock systemd-logind on it, for mlsecd's tests.

It starts its own dbus-daemon (a system-type bus on a Unix socket in a temporary
directory, everything allowed, nothing activatable) and python-dbusmock's "logind"
template on it, with this file loaded as the template so that the Manager behaves
like the real logind where mlsecd depends on it:

  GetSession(id)        -> the session's path, or org.freedesktop.login1.NoSuchSession
  TerminateSession(id)  -> removes the session and emits Manager.SessionRemoved(id, path);
                           a session added "stuck" only goes to State "closing" instead
  KillSession(id, who, signal) (signature "ssi", as in logind; the stock template says
                           "sss") -> removes the session and emits SessionRemoved
  unknown ids           -> NoSuchSession from TerminateSession/KillSession too

Every call on the mock is logged (dbusmock's call log: the file DIR/calls.log and the
org.freedesktop.DBus.Mock GetCalls/GetMethodCalls methods), so a test can see whether
KillSession(id, "all", 9) was called. Never point it at the real system bus: it only
ever talks to the bus it started, and the control commands below refuse to run without
DBUS_SYSTEM_BUS_ADDRESS.

Usage (run it with Debian's /usr/bin/python3, which has python3-dbusmock):

  logind_mock.py run [--dir DIR] [--no-logind] -- CMD [ARG...]
      Start the bus and the mock, run CMD with DBUS_SYSTEM_BUS_ADDRESS and
      LOGIND_MOCK_LOG set, stop both, exit with CMD's status.
  logind_mock.py serve [--dir DIR] [--no-logind] [--until-eof]
      Start them, print "DBUS_SYSTEM_BUS_ADDRESS=...", "LOGIND_MOCK_LOG=..." and "READY"
      on stdout (also written to DIR/env), then stay in the foreground until SIGTERM,
      SIGINT or SIGHUP (or, with --until-eof, end of stdin: the caller died). Then stop both.
  logind_mock.py add-session ID --uid N --user NAME [--service S] [--tty T]
                             [--remote-host H] [--leader PID] [--stuck] [--quiet]
      Add a session (seat0) and emit SessionNew(ID, path) unless --quiet. Prints its path.
  logind_mock.py remove-session ID      the session ends by itself: SessionRemoved
  logind_mock.py set-stuck ID yes|no    whether TerminateSession is ignored
  logind_mock.py calls [METHOD]         the mock's call log, one call a line, e.g.
                                        'KillSession "c2" "all" 9'
  logind_mock.py clear-calls

DIR (default: a new temporary directory, removed on exit) holds system_bus_socket,
bus.conf, calls.log and env; with --dir the caller owns the directory. --no-logind
starts the bus alone (for "a bus but no logind"). The same operations exist as
methods of org.freedesktop.DBus.Mock on /org/freedesktop/login1:
AddLoginSession(s id, u uid, s user, s service, s tty, s remote_host, u leader,
b stuck, b emit) -> o, RemoveLoginSession(s id), SetSessionStuck(s id, b stuck).
Children get SIGTERM when this process dies (PR_SET_PDEATHSIG).
"""

import os
import sys

try:
    import dbus
    import dbus.exceptions
    import dbus.service
    from dbusmock import MOCK_IFACE, mockobject
    from dbusmock.templates import logind as _stock
except ImportError:
    # a pyenv/venv python3 without Debian's dist-packages: retry with the system one
    if __name__ == '__main__' and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3') \
            and os.access('/usr/bin/python3', os.X_OK) and not os.environ.get('LOGIND_MOCK_REEXEC'):
        os.environ['LOGIND_MOCK_REEXEC'] = '1'
        os.execv('/usr/bin/python3', ['/usr/bin/python3', os.path.abspath(__file__)] + sys.argv[1:])
    sys.stderr.write('logind_mock.py: python3-dbusmock (and python3-dbus) are needed\n')
    sys.exit(2)

# ---------------------------------------------------------------------------------------
# The template half: loaded by `python3 -m dbusmock --template <this file>`.
# ---------------------------------------------------------------------------------------

BUS_NAME = _stock.BUS_NAME
MAIN_OBJ = _stock.MAIN_OBJ
MAIN_IFACE = _stock.MAIN_IFACE
SYSTEM_BUS = True
SESSION_IFACE = 'org.freedesktop.login1.Session'
NO_SUCH_SESSION = 'org.freedesktop.login1.NoSuchSession'

# dbusmock picks up every D-Bus method defined at module level: keep the stock ones.
ListSessions = _stock.ListSessions
ListUsers = _stock.ListUsers
Inhibit = _stock.Inhibit
ListInhibitors = _stock.ListInhibitors
AddSeat = _stock.AddSeat
AddUser = _stock.AddUser
AddSession = _stock.AddSession


def _session_path(session_id):
    return dbus.ObjectPath('/org/freedesktop/login1/session/' + session_id)


def _no_such_session(session_id):
    return dbus.exceptions.DBusException(f'No session \'{session_id}\' known', name=NO_SUCH_SESSION)


def _stuck(main):
    if not hasattr(main, 'logind_mock_stuck'):
        main.logind_mock_stuck = set()
    return main.logind_mock_stuck


def _drop_from(obj_path, iface, session_id):
    obj = mockobject.objects.get(obj_path)
    if obj is None:
        return
    sessions = [s for s in obj.Get(iface, 'Sessions') if str(s[0]) != session_id]
    obj.props[iface]['Sessions'] = dbus.Array(sessions, signature='(so)')


def _remove_session(main, session_id):
    path = _session_path(session_id)
    obj = mockobject.objects[path]
    props = obj.props[SESSION_IFACE]
    _drop_from(props['Seat'][1], 'org.freedesktop.login1.Seat', session_id)
    _drop_from(props['User'][1], 'org.freedesktop.login1.User', session_id)
    obj.remove_from_connection()
    del mockobject.objects[path]
    _stuck(main).discard(session_id)
    main.EmitSignal(MAIN_IFACE, 'SessionRemoved', 'so', [session_id, path])


def _get_session(main, session_id):
    path = _session_path(session_id)
    if path not in mockobject.objects:
        raise _no_such_session(session_id)
    return path


def _terminate_session(main, session_id):
    path = _get_session(main, session_id)
    if session_id in _stuck(main):
        # a session whose processes ignore SIGTERM: logind leaves it "closing"
        mockobject.objects[path].props[SESSION_IFACE]['State'] = 'closing'
        return
    _remove_session(main, session_id)


def _kill_session(main, session_id, who, signo):
    _get_session(main, session_id)
    if int(signo) == 9:
        _remove_session(main, session_id)


def load(mock, parameters):
    _stock.load(mock, parameters)
    mock.logind_mock_stuck = set()  # also on Reset()
    mock.AddMethod(MAIN_IFACE, 'GetSession', 's', 'o', _get_session)
    mock.AddMethod(MAIN_IFACE, 'TerminateSession', 's', '', _terminate_session)
    mock.AddMethod(MAIN_IFACE, 'KillSession', 'ssi', '', _kill_session)


@dbus.service.method(MOCK_IFACE, in_signature='sussssubb', out_signature='o')
def AddLoginSession(self, session_id, uid, user, service, tty, remote_host, leader, stuck, emit):
    '''Add a session with the properties mlsecd reads; emit SessionNew when EMIT.'''
    path = self.AddSession(session_id, 'seat0', uid, user, True)
    props = mockobject.objects[path].props[SESSION_IFACE]
    props['Service'] = dbus.String(service)
    props['TTY'] = dbus.String(tty)
    props['RemoteHost'] = dbus.String(remote_host)
    props['Remote'] = dbus.Boolean(bool(remote_host))
    props['Leader'] = dbus.UInt32(leader)
    if stuck:
        _stuck(self).add(str(session_id))
    if emit:
        self.EmitSignal(MAIN_IFACE, 'SessionNew', 'so', [session_id, dbus.ObjectPath(path)])
    return path


@dbus.service.method(MOCK_IFACE, in_signature='s', out_signature='')
def RemoveLoginSession(self, session_id):
    '''The session ends by itself: remove it and emit SessionRemoved.'''
    _get_session(self, session_id)
    _remove_session(self, str(session_id))


@dbus.service.method(MOCK_IFACE, in_signature='sb', out_signature='')
def SetSessionStuck(self, session_id, stuck):
    '''Whether TerminateSession leaves the session "closing" instead of removing it.'''
    _get_session(self, session_id)
    if stuck:
        _stuck(self).add(str(session_id))
    else:
        _stuck(self).discard(str(session_id))


# ---------------------------------------------------------------------------------------
# The harness half: the command line.
# ---------------------------------------------------------------------------------------

BUS_CONF = '''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
'''


def _die_with_parent():
    import ctypes
    import signal
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


class Harness:
    '''A dbus-daemon and the mock, stopped (and a temporary DIR removed) by stop().'''

    def __init__(self, directory, logind=True):
        import tempfile
        self.own_dir = directory is None
        self.dir = os.path.abspath(directory or tempfile.mkdtemp(prefix='logind-mock.'))
        self.socket = os.path.join(self.dir, 'system_bus_socket')
        self.log = os.path.join(self.dir, 'calls.log')
        self.address = None
        self.procs = []
        self.logind = logind

    def start(self, timeout=15.0):
        import subprocess
        import time
        conf = os.path.join(self.dir, 'bus.conf')
        with open(conf, 'w', encoding='utf-8') as f:
            f.write(BUS_CONF.format(socket=self.socket))
        bus = subprocess.Popen(['dbus-daemon', '--nofork', '--nosyslog', '--print-address', f'--config-file={conf}'],
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        self.procs.append(bus)
        line = bus.stdout.readline().decode().strip()
        bus.stdout.close()
        if not line:
            raise RuntimeError('dbus-daemon did not start')
        self.address = line
        if not self.logind:
            return
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
        env.pop('DBUS_SESSION_BUS_ADDRESS', None)
        mock = subprocess.Popen([sys.executable, '-m', 'dbusmock', '--system', '--template', os.path.abspath(__file__),
                                 '-l', self.log], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                preexec_fn=_die_with_parent)
        self.procs.append(mock)
        conn = dbus.bus.BusConnection(self.address)
        try:
            deadline = time.monotonic() + timeout
            while not conn.name_has_owner(BUS_NAME):
                if mock.poll() is not None:
                    raise RuntimeError(f'the dbusmock logind mock exited with {mock.returncode}')
                if time.monotonic() > deadline:
                    raise RuntimeError('the dbusmock logind mock did not claim ' + BUS_NAME)
                time.sleep(0.02)
        finally:
            conn.close()

    def env_lines(self):
        return [f'DBUS_SYSTEM_BUS_ADDRESS={self.address}', f'LOGIND_MOCK_LOG={self.log}']

    def stop(self):
        import shutil
        import subprocess
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def _control():
    if not os.environ.get('DBUS_SYSTEM_BUS_ADDRESS'):
        sys.stderr.write('logind_mock.py: DBUS_SYSTEM_BUS_ADDRESS is not set; refusing to talk to the real system bus\n')
        sys.exit(2)
    conn = dbus.bus.BusConnection(os.environ['DBUS_SYSTEM_BUS_ADDRESS'])
    return dbus.Interface(conn.get_object(BUS_NAME, MAIN_OBJ), MOCK_IFACE)


def _format_call(name, args):
    return name + mockobject._format_args(args)  # pylint: disable=protected-access


def main(argv):
    import argparse
    import signal
    import subprocess
    import threading

    ap = argparse.ArgumentParser(prog='logind_mock.py', description='private system bus with a mock logind')
    sub = ap.add_subparsers(dest='cmd', required=True)
    for name in ('run', 'serve'):
        p = sub.add_parser(name)
        p.add_argument('--dir')
        p.add_argument('--no-logind', action='store_true')
        if name == 'serve':
            p.add_argument('--until-eof', action='store_true')
        else:
            p.add_argument('command', nargs=argparse.REMAINDER)
    p = sub.add_parser('add-session')
    p.add_argument('id')
    p.add_argument('--uid', type=int, required=True)
    p.add_argument('--user', required=True)
    p.add_argument('--service', default='')
    p.add_argument('--tty', default='')
    p.add_argument('--remote-host', default='')
    p.add_argument('--leader', type=int, default=1)
    p.add_argument('--stuck', action='store_true')
    p.add_argument('--quiet', action='store_true')
    p = sub.add_parser('remove-session')
    p.add_argument('id')
    p = sub.add_parser('set-stuck')
    p.add_argument('id')
    p.add_argument('stuck', choices=('yes', 'no'))
    p = sub.add_parser('calls')
    p.add_argument('method', nargs='?')
    sub.add_parser('clear-calls')
    a = ap.parse_args(argv)

    try:
        if a.cmd == 'add-session':
            print(_control().AddLoginSession(a.id, dbus.UInt32(a.uid), a.user, a.service, a.tty, a.remote_host,
                                             dbus.UInt32(a.leader), a.stuck, not a.quiet))
            return 0
        if a.cmd == 'remove-session':
            _control().RemoveLoginSession(a.id)
            return 0
        if a.cmd == 'set-stuck':
            _control().SetSessionStuck(a.id, a.stuck == 'yes')
            return 0
        if a.cmd == 'calls':
            for _, name, args in _control().GetCalls():
                if a.method is None or name == a.method:
                    print(_format_call(name, args))
            return 0
        if a.cmd == 'clear-calls':
            _control().ClearCalls()
            return 0
    except dbus.exceptions.DBusException as e:
        sys.stderr.write(f'logind_mock.py: {e.get_dbus_name()}: {e.get_dbus_message()}\n')
        return 1

    if a.cmd == 'run':
        command = a.command[1:] if a.command[:1] == ['--'] else a.command
        if not command:
            ap.error('run needs a command after --')

    h = Harness(a.dir, logind=not a.no_logind)
    stop = threading.Event()

    def on_signal(signo, _frame):
        stop.set()
        if a.cmd == 'run' and child is not None and child.poll() is None:
            child.send_signal(signo)

    child = None
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        h.start()
        with open(os.path.join(h.dir, 'env'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(h.env_lines()) + '\n')
        if a.cmd == 'run':
            env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=h.address, LOGIND_MOCK_LOG=h.log)
            child = subprocess.Popen(command, env=env)
            while True:
                try:
                    return child.wait()
                except InterruptedError:
                    continue
        sys.stdout.write('\n'.join(h.env_lines() + ['READY']) + '\n')
        sys.stdout.flush()
        if a.until_eof:
            def watch_stdin():
                try:
                    while os.read(0, 4096):
                        pass
                except OSError:
                    pass
                stop.set()
            threading.Thread(target=watch_stdin, daemon=True).start()
        while not stop.is_set():
            stop.wait(0.2)
            if any(p.poll() is not None for p in h.procs):
                sys.stderr.write('logind_mock.py: the bus or the mock exited\n')
                return 1
        return 0
    except (RuntimeError, OSError) as e:
        sys.stderr.write(f'logind_mock.py: {e}\n')
        return 2
    finally:
        h.stop()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
