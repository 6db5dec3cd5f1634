"""What is inside each container image the sandbox can run: the simulated kubelet's image store.

A real kubelet runs a container only if its image can be pulled and its command exists in the
image. The sandbox does the same with this catalogue: an image that is not here cannot be pulled
(ErrImagePull / ImagePullBackOff, nothing runs), and a container whose ``command[0]`` is not an
executable of its image fails to start (StartError, exit code 128, ``exec: "x": executable file
not found in $PATH``), exactly as containerd reports it.

Sources of the data (checked 2026-12 with ``git show <branch>:<path>`` on microsoft/azurelinux):

* ``mcr.microsoft.com/azurelinux/busybox:1.36`` is built by
  ``.pipelines/containerSourceData/busybox/Dockerfile-Busybox`` (branch 3.0, commit
  2172d5cf45e4ee08bf8f40f8b76c86fcfde1a834): it installs the packages listed in ``busybox.pkg``
  (azurelinux-release, busybox, glibc) into an empty root, then ``busybox --install -s /bin``, so
  every applet the busybox binary was built with is a symlink in ``/bin``. The binary comes from
  ``SPECS/busybox/busybox.spec`` (busybox 1.36.1), built with ``SPECS/busybox/busybox-static.config``:
  the applets below are that config's enabled applet symbols (``CONFIG_<APPLET>=y``, the name
  lower-cased; ``CONFIG_TEST1`` is ``[``, ``CONFIG_TEST2`` is ``[[``, ``CONFIG_SH_IS_ASH`` is ``sh``,
  ``CONFIG_BB_ARCH`` is ``arch``, ``CONFIG_BB_SYSCTL`` is ``sysctl``). It has
  ``# CONFIG_NSENTER is not set`` and ``CONFIG_CHROOT=y``. The image sets no PATH, so containerd's
  default (``/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin``) finds them in /bin.
  The glibc package's own tools (ldconfig, iconv, ...) are not listed: nothing here calls them.
* ``mcr.microsoft.com/cbl-mariner/busybox:2.0`` (Azure Linux 2.0, retired): the same files on
  branch 2.0 (commit a313d25a7693f86a6322ef0790a25740b1366940, busybox 1.35.0); its
  ``busybox-static.config`` enables the same applets (it differs from 3.0's only in SELinux
  options), so it has no ``nsenter`` either. Kept so that the app's old reboot command fails here
  the way it fails on AKS, not as an unknown image.
* Images whose contents are not modelled (the sandbox's own workload and run-command images, and
  the plain ``nginx`` test pods use): they run their own entrypoint only; a container that sets
  ``command`` on one of them fails to start, because the sandbox cannot tell whether the command
  exists there.
"""

from __future__ import annotations

from dataclasses import dataclass

_BUSYBOX_APPLETS = frozenset("""
[ [[ acpid add-shell addgroup adduser adjtimex ar arch arp arping ash awk base64 basename bbconfig bc beep
blkdiscard blkid blockdev bootchartd brctl bunzip2 busybox bzcat bzip2 cal cat chat chattr chgrp chmod chown
chpasswd chpst chroot chrt chvt cksum clear cmp comm conspy cp cpio crond crontab cryptpw cttyhack cut date dc dd
deallocvt delgroup deluser depmod devmem df dhcprelay diff dirname dmesg dnsd dnsdomainname dos2unix dpkg dpkg-deb
du dumpkmap dumpleases echo ed egrep eject env envdir envuidgid ether-wake expand expr factor fakeidentd false
fatattr fbset fbsplash fdflush fdformat fdisk fgconsole fgrep find findfs flock fold free freeramdisk fsck
fsck.minix fsfreeze fstrim fsync ftpd ftpget ftpput fuser getopt getty grep groups gunzip gzip halt hd hdparm head
hexdump hexedit hostid hostname httpd hush hwclock i2cdetect i2cdump i2cget i2cset id ifconfig ifdown ifenslave
ifplugd ifup inetd init insmod install ionice iostat ip ipaddr ipcalc ipcrm ipcs iplink ipneigh iproute iprule
iptunnel kbd_mode kill killall killall5 klogd last less link linux32 linux64 linuxrc ln loadfont loadkmap logger
login logname logread losetup lpd lpq lpr ls lsattr lsmod lsof lspci lsscsi lsusb lzcat lzma lzop lzopcat
makedevs makemime man md5sum mdev mesg microcom mkdir mkdosfs mke2fs mkfifo mkfs.ext2 mkfs.minix mkfs.vfat mknod
mkpasswd mkswap mktemp modinfo modprobe more mount mountpoint mpstat mt mv nameif nanddump nandwrite nbdclient nc
netstat nice nl nmeter nohup nologin nproc nslookup ntpd od openvt partprobe passwd paste patch pgrep pidof ping
ping6 pipe_progress pivot_root pkill pmap popmaildir poweroff powertop printenv printf ps pscan pstree pwd pwdx
raidautorun rdate rdev readahead readlink readprofile realpath reboot reformime remove-shell renice reset resize
resume rev rm rmdir rmmod route rpm rpm2cpio rtcwake run-init run-parts runlevel runsv runsvdir rx script
scriptreplay sed sendmail seq setarch setconsole setfattr setfont setkeycodes setlogcons setpriv setserial setsid
setuidgid sh sha1sum sha256sum sha3sum sha512sum showkey shred shuf slattach sleep smemcap softlimit sort split
ssl_client start-stop-daemon stat strings stty su sulogin sum sv svc svlogd svok swapoff swapon switch_root sync
sysctl syslogd tac tail tar tc tcpsvd tee telnet telnetd test tftp tftpd time timeout top touch tr traceroute
traceroute6 true truncate tty ttysize tunctl ubiattach ubidetach ubimkvol ubirename ubirmvol ubirsvol ubiupdatevol
udhcpc udhcpd udpsvd uevent umount uname uncompress unexpand uniq unix2dos unlink unlzma unlzop unshare unxz unzip
uptime users usleep uudecode uuencode vconfig vi vlock volname w wall watch watchdog wc wget which who whoami whois
xargs xxd xz xzcat yes zcat zcip
""".split())


@dataclass(frozen=True)
class Image:
    """One image: its executables (None: not modelled, only its own entrypoint runs) and where that is written."""

    ref: str
    executables: frozenset[str] | None
    source: str


_AZL = "microsoft/azurelinux"
IMAGES: dict[str, Image] = {image.ref: image for image in (
    Image("mcr.microsoft.com/azurelinux/busybox:1.36", _BUSYBOX_APPLETS,
          f"{_AZL}@3.0 SPECS/busybox/busybox-static.config + .pipelines/containerSourceData/busybox/Dockerfile-Busybox"),
    Image("mcr.microsoft.com/cbl-mariner/busybox:2.0", _BUSYBOX_APPLETS,
          f"{_AZL}@2.0 SPECS/busybox/busybox-static.config + .pipelines/containerSourceData/busybox/Dockerfile-Busybox"),
    Image("mcr.microsoft.com/azurelinux/base/nginx:1.25", None, "sandbox workload pods (entrypoint only)"),
    Image("mcr.microsoft.com/aks/command/runtime:master.241021.1", None, "AKS run-command pod (entrypoint only)"),
    Image("docker.io/library/nginx:latest", None, "plain test pods (entrypoint only)"),
)}


def normalise(ref: str) -> str:
    """An image reference as containerd resolves it: docker.io/library/ for bare names, :latest when untagged."""
    ref = ref.strip()
    name, _, digest = ref.partition("@")
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    if not digest and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return f"{name}@{digest}" if digest else name


def lookup(ref: str) -> Image | None:
    return IMAGES.get(normalise(ref or ""))


def pull_error(ref: str) -> str:
    """containerd's message for an image the registry does not have."""
    full = normalise(ref or "")
    return (f'failed to pull and unpack image "{full}": failed to resolve reference "{full}": '
            f"{full}: not found")


def start_error(image: Image, container: dict) -> str:
    """Why this container cannot start in its image ("" when it can), worded as containerd + runc say it."""
    command = list(container.get("command") or [])
    if not command:
        return ""
    if image.executables is None:
        return (f"sandbox: the contents of image {image.ref} are not modelled (lab/sandbox/images.py), so a command "
                f"override ({command[0]!r}) cannot be run; only the image's own entrypoint runs")
    exe = command[0]
    name = exe.rsplit("/", 1)[-1]
    if name in image.executables and exe in (name, f"/bin/{name}"):
        return ""
    what = f'exec: "{exe}": executable file not found in $PATH' if "/" not in exe else \
        f'exec: "{exe}": stat {exe}: no such file or directory'
    return ("failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create "
            f"failed: unable to start container process: {what}: unknown")
