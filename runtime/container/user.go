package container

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// execUser is who the container's process runs as.
type execUser struct {
	Uid, Gid int
	Groups   []int
	Home     string
}

type passwdEntry struct {
	name string
	uid  int
	gid  int
	home string
}

type groupEntry struct {
	name    string
	gid     int
	members []string
}

func parsePasswd(r io.Reader) []passwdEntry {
	var out []passwdEntry
	if r == nil {
		return nil
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 6 || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid, home: f[5]})
	}
	return out
}

func parseGroup(r io.Reader) []groupEntry {
	var out []groupEntry
	if r == nil {
		return nil
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		g := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	}
	return out
}

// resolveUser reads a --user value ("", name, uid, name:group, uid:gid...)
// against the container's /etc/passwd and /etc/group (nil when absent),
// as runc does: a number need not be listed, a name must be; a user given
// by name gets the groups that list it as a member.
func resolveUser(spec string, passwd, group io.Reader) (execUser, error) {
	u := execUser{Home: "/"}
	userArg, groupArg, hasGroup := strings.Cut(spec, ":")
	if userArg == "" {
		userArg = "0"
	}
	users := parsePasswd(passwd)
	uidNum, numErr := strconv.Atoi(userArg)
	matched := ""
	found := false
	for _, p := range users {
		if numErr == nil && p.uid == uidNum || numErr != nil && p.name == userArg {
			u.Uid, u.Gid, u.Home, matched, found = p.uid, p.gid, p.home, p.name, true
			break
		}
	}
	if !found {
		if numErr != nil {
			return u, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userArg)
		}
		if uidNum < 0 {
			return u, fmt.Errorf("invalid user %q: negative uid", spec)
		}
		u.Uid = uidNum
	}
	groups := parseGroup(group)
	if hasGroup && groupArg != "" {
		gidNum, err := strconv.Atoi(groupArg)
		found := false
		for _, g := range groups {
			if err == nil && g.gid == gidNum || err != nil && g.name == groupArg {
				u.Gid, found = g.gid, true
				break
			}
		}
		if !found {
			if err != nil {
				return u, fmt.Errorf("unable to find group %s: no matching entries in group file", groupArg)
			}
			if gidNum < 0 {
				return u, fmt.Errorf("invalid group %q: negative gid", groupArg)
			}
			u.Gid = gidNum
		}
	} else if matched != "" {
		for _, g := range groups {
			for _, m := range g.members {
				if m == matched {
					u.Groups = append(u.Groups, g.gid)
					break
				}
			}
		}
	}
	return u, nil
}
