package container

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// validName applies Docker's container name rule, except that a single
// character is allowed: the Docker primer's `--name s` works.
func validName(name string) error {
	n := strings.TrimPrefix(name, "/")
	if !namePattern(n, 1) {
		return invalidf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", n)
	}
	return nil
}

// validVolumeName applies Docker's local volume name rule.
func validVolumeName(name string) error {
	if len(name) < 2 {
		return fmt.Errorf("volume name is too short, names should be at least two alphanumeric characters")
	}
	if !namePattern(name, 2) {
		return fmt.Errorf("%q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", name)
	}
	return nil
}

// namePattern is ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ of at least min characters,
// without a regexp (it runs in every process of the binary, so no
// package-level compile).
func namePattern(s string, min int) bool {
	if len(s) < min {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// newID returns 64 random hex digits whose 12-digit short form is not all
// decimal (Docker's rule, so a short ID never reads as a number).
func newID() string {
	var b [32]byte
	for {
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		if _, err := strconv.ParseUint(id[:12], 10, 64); err != nil {
			return id
		}
	}
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// randomName is Docker's style of generated name: adjective_surname, with a
// digit appended after a collision (retry > 0).
func randomName(retry int) string {
	for {
		name := pick(adjectives) + "_" + pick(surnames)
		if name == "boring_wozniak" { // Steve Wozniak is not boring (Docker's rule)
			continue
		}
		if retry > 0 {
			n, _ := rand.Int(rand.Reader, big.NewInt(10))
			name += n.String()
		}
		return name
	}
}

func pick(list []string) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
	return list[n.Int64()]
}

var adjectives = []string{
	"admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful",
	"blissful", "bold", "boring", "brave", "busy", "charming", "clever", "compassionate",
	"competent", "condescending", "confident", "cool", "cranky", "crazy", "dazzling", "determined",
	"distracted", "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic",
	"exciting", "fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "funny",
	"gallant", "gifted", "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful",
	"hungry", "infallible", "inspiring", "intelligent", "interesting", "jolly", "jovial", "keen",
	"kind", "laughing", "loving", "lucid", "magical", "modest", "musing", "mystifying", "naughty",
	"nervous", "nice", "nifty", "nostalgic", "objective", "optimistic", "peaceful", "pedantic",
	"pensive", "practical", "priceless", "quirky", "quizzical", "recursing", "relaxed", "reverent",
	"romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic", "strange", "stupefied",
	"suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant",
	"vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
}

var surnames = []string{
	"agnesi", "albattani", "allen", "almeida", "antonelli", "archimedes", "ardinghelli", "aryabhata",
	"austin", "babbage", "banach", "banzai", "bardeen", "bartik", "bassi", "beaver", "bell",
	"benz", "bhabha", "bhaskara", "black", "blackburn", "blackwell", "bohr", "booth", "borg",
	"bose", "bouman", "boyd", "brahmagupta", "brattain", "brown", "buck", "burnell", "cannon",
	"carson", "cartwright", "carver", "cerf", "chandrasekhar", "chaplygin", "chatelet", "chatterjee",
	"chaum", "chebyshev", "clarke", "cohen", "colden", "cori", "cray", "curie", "curran", "darwin",
	"davinci", "dewdney", "dhawan", "diffie", "dijkstra", "dirac", "driscoll", "dubinsky", "easley",
	"edison", "einstein", "elbakyan", "elgamal", "elion", "ellis", "engelbart", "euclid", "euler",
	"faraday", "feistel", "fermat", "fermi", "feynman", "franklin", "gagarin", "galileo", "galois",
	"ganguly", "gates", "gauss", "germain", "goldberg", "goldstine", "goldwasser", "golick",
	"goodall", "gould", "greider", "grothendieck", "haibt", "hamilton", "haslett", "hawking",
	"heisenberg", "hellman", "hermann", "herschel", "hertz", "heyrovsky", "hodgkin", "hofstadter",
	"hoover", "hopper", "hugle", "hypatia", "ishizaka", "jackson", "jang", "jemison", "jennings",
	"jepsen", "johnson", "joliot", "jones", "kalam", "kapitsa", "kare", "keldysh", "keller",
	"kepler", "khayyam", "khorana", "kilby", "kirch", "knuth", "kowalevski", "lalande", "lamarr",
	"lamport", "leakey", "leavitt", "lederberg", "lehmann", "lewin", "lichterman", "liskov",
	"lovelace", "lumiere", "mahavira", "margulis", "matsumoto", "maxwell", "mayer", "mccarthy",
	"mcclintock", "mclaren", "mclean", "mcnulty", "meitner", "mendel", "mendeleev", "merkle",
	"mestorf", "mirzakhani", "montalcini", "moore", "morse", "moser", "murdock", "napier", "nash",
	"neumann", "newton", "nightingale", "nobel", "noether", "northcutt", "noyce", "panini", "pare",
	"pascal", "pasteur", "payne", "perlman", "pike", "poincare", "poitras", "proskuriakova",
	"ptolemy", "raman", "ramanujan", "rhodes", "ride", "ritchie", "robinson", "roentgen",
	"rosalind", "rubin", "saha", "sammet", "sanderson", "satoshi", "shamir", "shannon", "shaw",
	"shirley", "shockley", "shtern", "sinoussi", "snyder", "solomon", "spence", "stonebraker",
	"sutherland", "swanson", "swartz", "swirles", "taussig", "tesla", "tharp", "thompson",
	"torvalds", "tu", "turing", "varahamihira", "vaughan", "villani", "visvesvaraya", "volhard",
	"wescoff", "wilbur", "wiles", "williams", "williamson", "wilson", "wing", "wozniak", "wright",
	"wu", "yalow", "yonath", "zhukovsky",
}
