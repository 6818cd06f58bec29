// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// credentials is how the pods authenticate.
type credentials struct {
	// insecure is the tutorial's empty root password and replication as root.
	insecure bool
	// secret holds the replication password, and the root password unless
	// the user set their own root password variable.
	secret string
	// root is the RootPasswordEnv variable of init-mysql.
	root corev1.EnvVar
	// rootOnDatabase is the variable to add to the database container, when
	// the user set none.
	rootOnDatabase *corev1.EnvVar
}

// CredentialsSecretName is the Secret the pods of sts read their passwords
// from: the one the annotation names, else <name>-credentials.
func CredentialsSecretName(stsName string, annotations map[string]string) string {
	if name := annotations[contract.CredentialsSecretAnnotation]; name != "" {
		return name
	}
	return stsName + contract.CredentialsSecretTail
}

// GeneratesCredentials reports whether the reconciler creates the
// credentials Secret: not in tutorial mode, not for a user-named Secret.
func GeneratesCredentials(annotations map[string]string) bool {
	return annotations[contract.InsecureTutorialAnnotation] != "true" && annotations[contract.CredentialsSecretAnnotation] == ""
}

func secretRef(secret, key string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret},
		Key:                  key,
	}}
}

// userRootVariables set the root password from a value the scripts can read.
var userRootVariables = []string{"MYSQL_ROOT_PASSWORD", "MARIADB_ROOT_PASSWORD"}

// emptyRootVariables allow an empty root password.
var emptyRootVariables = []string{"MYSQL_ALLOW_EMPTY_PASSWORD", "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD"}

func (inj *injector) credentials(db *corev1.Container) (credentials, error) {
	annotations := inj.sts.Annotations
	switch v := annotations[contract.InsecureTutorialAnnotation]; v {
	case "true":
		inj.warnf("insecure: annotation %s=true keeps the tutorial's empty root password and replication as root; remove it to use the Secret %s",
			contract.InsecureTutorialAnnotation, inj.sts.Name+contract.CredentialsSecretTail)
		return credentials{insecure: true}, nil
	case "", "false":
	default:
		return credentials{}, inputErrorf(ReasonCredentials, "annotation %s=%q: use \"true\" or remove it", contract.InsecureTutorialAnnotation, v)
	}
	c := credentials{secret: CredentialsSecretName(inj.sts.Name, annotations)}
	if errs := validation.IsDNS1123Subdomain(c.secret); len(errs) > 0 {
		return credentials{}, inputErrorf(ReasonCredentials, "credentials Secret name %q: %s", c.secret, strings.Join(errs, "; "))
	}

	i := slices.IndexFunc(db.Env, func(e corev1.EnvVar) bool { return slices.Contains(passwordVariables, e.Name) })
	if i < 0 && len(db.EnvFrom) > 0 {
		// A variable in env wins over envFrom: the root password the
		// webhook would add could silently replace one given there.
		return credentials{}, inputErrorf(ReasonCredentials, "container %q takes variables from envFrom, which may set the root password, and the webhook "+
			"cannot tell: set %s in env (from a Secret) to choose the root password, or set it to the key %s of the Secret %s",
			db.Name, inj.prof.RootPasswordVariable, contract.RootPasswordKey, c.secret)
	}
	switch {
	case i < 0:
		name := inj.prof.RootPasswordVariable
		c.rootOnDatabase = &corev1.EnvVar{Name: name, ValueFrom: secretRef(c.secret, contract.RootPasswordKey)}
		c.root = corev1.EnvVar{Name: contract.RootPasswordEnv, ValueFrom: secretRef(c.secret, contract.RootPasswordKey)}
	case slices.Contains(userRootVariables, db.Env[i].Name):
		c.root = *db.Env[i].DeepCopy()
		c.root.Name = contract.RootPasswordEnv
	case slices.Contains(emptyRootVariables, db.Env[i].Name):
		inj.warnf("%s on container %q: root has an empty password; replication still uses the Secret %s", db.Env[i].Name, db.Name, c.secret)
		c.root = corev1.EnvVar{Name: contract.RootPasswordEnv, Value: ""}
	default:
		return credentials{}, inputErrorf(ReasonCredentials, "%s on container %q hides the root password from the replication scripts: "+
			"set MYSQL_ROOT_PASSWORD (or MARIADB_ROOT_PASSWORD) from a Secret, or remove it to use the Secret %s",
			db.Env[i].Name, db.Name, c.secret)
	}
	return c, nil
}
