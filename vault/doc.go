// Package vault keeps an IAM user's long-term AWS keys and the STS sessions
// made from them in the OS keyring, through github.com/99designs/keyring
// (v1.2.2, credkit's copy in internal/keyring), and imports what aws-vault v7 stored.
//
//	v, err := vault.Open(vault.Config{Passphrase: askOnTerminal})
//	err = v.SetKeys("work", creds.Credentials{AccessKeyID: "AKIA...", SecretAccessKey: secret})
//	c, err := v.Keys("work")
//	err = v.PutSession(vault.SessionKey{Kind: vault.KindGetSessionToken, Profile: "work", MFASerial: serial}, session)
//	s, ok, err := v.Session(vault.KindGetSessionToken, "work", serial, now, 5*time.Minute)
//
// The package never prints and never prompts by itself: the file backend's
// passphrase comes from the environment or from Config.Passphrase.
// Secrets never appear in its errors (creds.Credentials prints redacted).
//
// # Backends
//
// Config.Backend names one of:
//
//   - file: credkit's encrypted files, in ~/.credkit/keys (see below);
//   - keychain: the macOS keychain (the default keychain, service "credkit";
//     needs a build with cgo); macOS asks before handing long-term keys
//     to a program, as with aws-vault;
//   - wincred: the Windows Credential Manager (targets "credkit:credkit:ITEM");
//   - secret-service: the freedesktop.org Secret Service on the D-Bus
//     session bus (GNOME Keyring, KeePassXC), collection "credkit";
//   - kwallet: KDE Wallet (kwalletd5), folder "credkit";
//   - keyctl: the Linux kernel keyring: a keyring "credkit" in the user
//     keyring (Config.KeyctlScope); kept in kernel memory, gone at reboot;
//   - pass: pass(1) and GnuPG, items under credkit/ in the password store
//     ($PASSWORD_STORE_DIR or ~/.password-store; Config.PassDir,
//     Config.PassPrefix). The store must have been set up with pass init.
//     keyring lets pass and gpg write their own messages to stderr.
//
// Backends lists those this process can use, the default first. A name
// that is not among them makes Open fail with ErrUnknownBackend and a
// message that says why and lists the ones that are. secret-service and
// kwallet are offered only when a D-Bus session bus answered when the
// program started: keyring connects to it in its package initialisation.
//
// The default (DefaultBackend) is keychain on macOS, wincred on Windows,
// and on Linux secret-service when DBUS_SESSION_BUS_ADDRESS is set, the
// bus answered at startup and a Secret Service owns (or can be activated
// as) org.freedesktop.secrets on it; otherwise, and on other systems, file.
//
// # Items
//
// Items are named and encoded as aws-vault v7 does, so one parser reads
// both stores and aws-vault can read credkit's:
//
//   - long-term keys: the item is the profile name; its data is the JSON of
//     aws-sdk-go-v2's aws.Credentials (AccessKeyID, SecretAccessKey, ...);
//   - sessions: "sts.GetSessionToken,P,M,E" or "sts.AssumeRole,P,M,E", P the
//     profile and M the MFA serial in unpadded base64url, E the expiry in
//     Unix seconds; the data is the JSON of sts types.Credentials.
//
// Sessions, Profiles, HasKeys and the expiry checks of Session read names
// only: listing needs no passphrase and decrypts nothing. Expired sessions
// are removed when Session comes across them, and PutSession removes the
// older sessions of the same kind, profile and MFA serial.
//
// # The file backend
//
// One file per item in the directory (Config.FileDir, default
// ~/.credkit/keys, created 0700; a directory that group or others can open
// is refused): the item name percent-encoded ("/" is %2F), the content a
// JWE (PBES2-HS256+A128KW key wrapping with 8192 PBKDF2 iterations,
// A256GCM) of the JSON of a keyring.Item: exactly what keyring's own file
// backend writes and what aws-vault's file backend (~/.awsvault/keys)
// holds. Files are 0600. Two more kinds of file live there: .credkit.lock
// (the lock) and, only while a write is under way, .credkit-tmp-*.
//
// The passphrase is taken, at the first read or write of an item, from:
//
//  1. CREDKIT_FILE_PASSPHRASE (visible to whatever can read the process's
//     environment; prefer the next one);
//  2. the file named by CREDKIT_FILE_PASSPHRASE_FILE (a trailing newline is
//     ignored);
//  3. Config.Passphrase, called at most once per Open; its prompt begins
//     "New passphrase" when the directory holds no item yet.
//
// The first item written to an empty directory sets the passphrase. Before
// any write or removal, an existing item is decrypted with the passphrase:
// if none decrypts, the error wraps ErrWrongPassphrase, names the directory
// and says what to do, and nothing is written. A wrong passphrase is kept
// for the life of the Vault: Open again to try another.
//
// A file that is not such a JWE, does not decrypt while other items do,
// holds another item than its name says (a renamed or swapped file), or
// whose data is not credentials is damaged: reading it returns a
// *CorruptItemError (errors.Is ErrCorrupt) naming the file, and credkit
// never overwrites or removes it; the other items stay usable. Only the
// algorithms keyring writes are accepted, so a planted unencrypted or
// differently encrypted file cannot pass for an item, and the PBKDF2 count
// of a file is bounded, so a planted file cannot stall a read.
//
// # Locking and atomic writes
//
// Several credkit processes may use the directory at once. Every read takes
// a shared flock(2) on .credkit.lock (LockFileEx on Windows), every write
// or removal an exclusive one, held across the passphrase check and the
// write, so two processes adding keys at once both succeed. A write goes to a
// temporary file in the same directory, is fsynced, renamed over the item
// and the directory is fsynced: a reader sees the old item or the new one,
// a crash leaves at most a temporary file, which the next write deletes.
//
// This is why the file backend is written here rather than taken from
// keyring: keyring's writes the item in place with os.WriteFile, with no
// lock and no fsync (two writers interleave, a reader can see half a file,
// a crash can truncate it), and it cannot tell a wrong passphrase from a
// damaged file. The format is unchanged, so keyring and aws-vault read what
// credkit writes, and credkit reads theirs.
//
// # Importing from aws-vault
//
// OpenAWSVault opens aws-vault v7's store read-only where aws-vault would
// look for it (AWS_VAULT_BACKEND, AWS_VAULT_FILE_DIR or ~/.awsvault/keys,
// AWS_VAULT_FILE_PASSPHRASE, AWS_VAULT_PASS_*: see OpenAWSVault). Import
// copies its long-term keys and, when asked, its live GetSessionToken and
// AssumeRole sessions; SSO tokens ("oidc:..." items), other session kinds,
// expired sessions and damaged items are listed in the report with the
// reason. Keys credkit already has are replaced only with
// ImportOptions.Overwrite. Nothing is written to aws-vault's store, and no
// lock is taken there (aws-vault takes none).
package vault
