;;; metro-mode.el --- Metro files with eglot and metro-language-server -*- lexical-binding: t -*-

;; A major mode for Metro configuration files (metro.conf, etc/builds/**,
;; targets/**/*.spec), claimed only inside a Metro tree (a folder holding
;; metro.conf or etc/master.conf); eglot runs metro-language-server for it,
;; and a tree is one project even when it is not a VC checkout, so eglot
;; sends the tree root as the workspace folder and one server serves the
;; whole tree.
;;
;; Emacs 29 has eglot built in; on Emacs 28 install it (M-x package-install
;; RET eglot, or Debian's elpa-eglot).  Then, in init.el:
;;   (load "/path/to/metro-mode.el")
;; To run another server command:
;;   (setq metro-language-server-command '("node" "/path/to/metro-language-server.js" "--stdio"))

;;; Code:

(require 'cl-lib)
(require 'project)
(require 'eglot)

(defgroup metro nil "Metro configuration files." :group 'languages)

(defcustom metro-language-server-command '("metro-language-server" "--stdio")
  "The command that runs the Metro language server over stdio."
  :type '(repeat string))

(defun metro-tree-root (path)
  "The nearest folder at or above PATH that is a Metro tree, or nil."
  (let ((root (locate-dominating-file
               path
               (lambda (dir)
                 (or (file-exists-p (expand-file-name "metro.conf" dir))
                     (file-exists-p (expand-file-name "etc/master.conf" dir)))))))
    (and root (file-name-as-directory (expand-file-name root)))))

(defun metro-file-p (root file)
  "Whether FILE inside tree ROOT is a Metro file by its name, as the server decides."
  (let* ((rel (split-string (file-relative-name file root) "/" t))
         (name (car (last rel)))
         (etc (cl-position "etc" rel :test #'equal))
         (targets (cl-position "targets" rel :test #'equal)))
    (and (not (cl-some (lambda (p) (or (equal p "fsroot") (string-prefix-p "." p))) rel))
         (or (string-match-p "\\.\\(conf\\|spec\\)\\'" name)
             (and (not (string-match-p "\\." name))
                  (or (and etc (equal (nth (1+ etc) rel) "multi-targets"))
                      (and etc (equal (nth (1+ etc) rel) "builds") (= (length rel) (+ etc 3)))
                      (and targets (member "strategy" (butlast (nthcdr (1+ targets) rel))))))))))

(defconst metro-font-lock-keywords
  '(("^\\[\\(section\\|collect\\|when\\|option\\)\\b" 1 font-lock-keyword-face)
    ("\\$\\[\\[?[^]\n]*\\]\\]?" . font-lock-variable-name-face)
    ("^\\([^][:#\n \t][^:\n]*\\):" 1 font-lock-function-name-face)))

(defvar metro-mode-syntax-table
  (let ((table (make-syntax-table)))
    (modify-syntax-entry ?# "<" table)
    (modify-syntax-entry ?\n ">" table)
    table))

;;;###autoload
(define-derived-mode metro-mode prog-mode "Metro"
  "Major mode for Metro configuration files."
  (setq-local comment-start "# ")
  (setq-local font-lock-defaults '(metro-font-lock-keywords)))

(defun metro-mode-maybe ()
  "Metro mode for a Metro file inside a Metro tree; otherwise the mode Emacs would pick."
  (let* ((file (and buffer-file-name (expand-file-name buffer-file-name)))
         (root (and file (metro-tree-root file))))
    (if (or (and file (string-match-p "/\\.metro\\'" file))
            (and root (metro-file-p root file)))
        (metro-mode)
      (let ((auto-mode-alist (cl-remove 'metro-mode-maybe auto-mode-alist :key #'cdr)))
        (set-auto-mode t)))))

;; Names a Metro file may have; metro-mode-maybe decides by the tree.
(dolist (pattern '("\\.conf\\'" "\\.spec\\'" "/\\.metro\\'" "/etc/multi-targets/[^/.]+\\'"
                   "/etc/builds/[^/.]+\\'" "/targets/.*/strategy/.*/[^/.]+\\'"))
  (add-to-list 'auto-mode-alist (cons pattern #'metro-mode-maybe)))

;; A Metro tree is one project, VC checkout or not.
(defun metro-project-find (dir)
  "The Metro tree holding DIR as a project, or nil."
  (let ((root (metro-tree-root dir)))
    (and root (cons 'metro root))))

(cl-defmethod project-root ((project (head metro)))
  (cdr project))

(add-hook 'project-find-functions #'metro-project-find)

(add-to-list 'eglot-server-programs
             `(metro-mode . ,(lambda (&rest _) metro-language-server-command)))

(add-hook 'metro-mode-hook #'eglot-ensure)

(provide 'metro-mode)
;;; metro-mode.el ends here
